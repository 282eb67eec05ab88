"""``flowaudio serve``: help with an example, a clear error without a voice, a real process."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import httpx

from flowaudio import cli
from flowaudio.runtime import synthesizer


def test_help_shows_an_example():
    parser = cli.build_parser()
    [sub] = [a for a in parser._actions if a.dest == "command"]
    text = sub.choices["serve"].format_help()
    assert "flowaudio serve --voice voices/mine" in text
    assert "curl" in text and "127.0.0.1" in text


def test_no_voice_and_no_default_voice_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setattr(synthesizer, "default_voice_dir", lambda: None)
    assert cli.main(["serve"]) == 1
    assert "pass --voice VOICE_DIR" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_a_real_server(tiny_voice):
    port = _free_port()
    command = [sys.executable, "-m", "flowaudio", "serve", "--voice", str(tiny_voice)]
    command += ["--port", str(port), "--max-chars", "100", "--threads", "1"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
        response = httpx.post(f"{url}/v1/audio/speech", json={"input": "Hi.", "voice": "slt"})
        assert response.status_code == 200 and response.content[:4] == b"RIFF"
        too_long = httpx.post(f"{url}/v1/audio/speech", json={"input": "a" * 101})
        assert too_long.status_code == 400 and "100" in too_long.json()["error"]["message"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "Uvicorn running on http://127.0.0.1" in out
