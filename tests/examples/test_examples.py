"""The quick examples run as a user runs them (against the test fixture's exported voice)."""

import subprocess
import sys
from pathlib import Path

import soundfile as sf

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_quickstart(tiny_voice, tmp_path):
    out = _run("quickstart.py", "--voice", str(tiny_voice), "--out", str(tmp_path / "a.wav"))
    assert "speakers: rms, slt" in out
    data, sr = sf.read(tmp_path / "a.wav")
    assert sr == 16000 and len(data) > 0


def test_stream_to_file(tiny_voice, tmp_path):
    out = _run("stream_to_file.py", "--voice", str(tiny_voice), "--out", str(tmp_path / "s.wav"))
    assert "first audio after" in out
    assert sf.info(tmp_path / "s.wav").duration > 0.5


def test_every_example_has_help_with_an_example():
    for script in ("quickstart.py", "stream_to_file.py"):
        assert "example:" in _run(script, "--help")
    assert "example:" in (EXAMPLES / "train_ljspeech.sh").read_text()
    proc = subprocess.run(["bash", "-n", str(EXAMPLES / "train_ljspeech.sh")])
    assert proc.returncode == 0
