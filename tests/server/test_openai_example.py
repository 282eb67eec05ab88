"""examples/openai_client.py runs as a user runs it, against a live server (the tiny voice)."""

import subprocess
import sys
from pathlib import Path

import soundfile as sf

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "openai_client.py"


def test_openai_client_example(server, tmp_path):
    out = tmp_path / "hello.wav"
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "--base-url", f"{server.url}/v1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "speakers: tiny/rms, tiny/slt" in proc.stdout
    data, sr = sf.read(out)
    assert sr == 16000 and len(data) > 0
    # The streamed WAV's header holds the maximum size; soundfile reads what arrived.
    streamed, sr = sf.read(tmp_path / "hello_stream.wav")
    assert sr == 16000 and len(streamed) > sr // 2


def test_openai_client_example_help():
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "example:" in proc.stdout
