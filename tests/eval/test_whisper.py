"""Whisper base (faster-whisper, the packaged weights) on real speech: the words come out
right, numbers are compared spelled out, and the model directory is assembled once, atomically."""

import subprocess

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("faster_whisper", reason="faster-whisper is not installed (the eval extra)")

from flowaudio.eval import whisper
from flowaudio.eval.asr import word_error_rate
from flowaudio.eval.whisper import WhisperTranscriber, check_model_dir

SENTENCE = "The quick brown fox jumps over the lazy dog in the morning."


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return whisper.packaged_model_dir(tmp_path_factory.mktemp("whisper-base"))


@pytest.fixture(scope="module")
def transcriber(model_dir):
    return WhisperTranscriber(model_dir)


def _flite(text: str, path) -> tuple[np.ndarray, int]:
    subprocess.run(["flite", "-voice", "rms", "-t", text, "-o", str(path)], check=True)
    return sf.read(path, dtype="float32")


def test_flite_speech_is_transcribed_word_for_word(transcriber, tmp_path):
    speech, sr = _flite(SENTENCE, tmp_path / "fox.wav")
    heard = transcriber.transcribe(speech, sr)
    assert word_error_rate([SENTENCE], [heard]).wer == 0.0, heard
    # deterministic: the same clip gives the same words, also at another sample rate
    assert transcriber.transcribe(speech, sr) == heard
    up = transcriber.transcribe(np.repeat(speech, 2), 2 * sr)
    assert word_error_rate([SENTENCE], [up]).wer == 0.0, up


def test_numbers_count_once_however_they_are_written(transcriber, tmp_path):
    text = "She paid 25 dollars for 3 books."
    speech, sr = _flite(text, tmp_path / "numbers.wav")
    heard = transcriber.transcribe(speech, sr)
    # Whisper may write digits or words; both sides are normalised the same way
    assert word_error_rate([text], [heard]).wer <= 0.15, heard
    assert word_error_rate(["She paid 25 dollars."], ["she paid twenty-five dollars"]).wer == 0.0


def test_noise_is_not_heard_as_the_sentence(transcriber):
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, 3 * 16000).astype(np.float32)
    assert word_error_rate([SENTENCE], [transcriber.transcribe(noise, 16000)]).wer >= 0.8


def test_assembled_once_and_rebuilt_when_truncated(model_dir):
    model = model_dir / "model.bin"
    parts = [
        whisper._package_data(p) / f"model.bin.part{i}"
        for i, p in enumerate(whisper._PART_PACKAGES, start=1)
    ]
    assert model.stat().st_size == sum(p.stat().st_size for p in parts)
    with open(model, "rb") as f, open(parts[1], "rb") as tail:
        f.seek(parts[0].stat().st_size)
        assert f.read(4096) == tail.read(4096)  # part 2 follows part 1
    assert check_model_dir(model_dir) == model_dir
    before = model.stat().st_mtime_ns
    assert whisper.packaged_model_dir(model_dir) == model_dir
    assert model.stat().st_mtime_ns == before  # reused, not rewritten
    assert not list(model_dir.glob(".*"))  # no temporary file left behind


def test_truncated_model_is_reassembled(tmp_path):
    target = tmp_path / "w"
    target.mkdir()
    (target / "model.bin").write_bytes(b"partial")
    whisper.packaged_model_dir(target)
    assert (target / "model.bin").stat().st_size > 100_000_000


def test_cache_dir_and_bad_model_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert whisper.cache_dir() == tmp_path / "flowaudio" / "whisper-base"
    with pytest.raises(FileNotFoundError, match="not found"):
        check_model_dir(tmp_path / "missing")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"lacks model\.bin, tokenizer\.json"):
        check_model_dir(tmp_path / "m")
    with pytest.raises(ValueError, match="compute_type"):
        WhisperTranscriber(tmp_path / "m", compute_type="float16")
