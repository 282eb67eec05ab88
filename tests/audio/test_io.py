"""Tests for flowaudio.audio.io: every fixture is generated here, no audio is committed."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from flowaudio.audio import (
    AudioError,
    load_audio,
    peak_normalize,
    resample,
    save_wav,
    wav_bytes,
)

SR = 16000


def _sine(freq: float, sr: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), d=1.0 / sr)[np.argmax(spectrum)])


# ------------------------------------------------------------------------------------------
# round trips


def test_pcm16_round_trip(tmp_path):
    x = np.random.default_rng(0).uniform(-0.9, 0.9, SR).astype(np.float32)
    path = tmp_path / "a.wav"
    save_wav(path, x, SR)
    y = load_audio(path)
    assert y.dtype == np.float32
    assert y.shape == x.shape
    # 16-bit quantisation: half a step of 1/32768, plus float slack
    np.testing.assert_allclose(y, x, atol=1.01 / 32768, rtol=0)
    assert sf.info(str(path)).subtype == "PCM_16"


def test_float_round_trip_is_exact(tmp_path):
    x = np.random.default_rng(0).uniform(-1.5, 1.5, SR).astype(np.float32)
    path = tmp_path / "a.wav"
    save_wav(path, x, SR, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(path), x)


def test_pcm16_clips_out_of_range(tmp_path):
    x = np.array([2.0, -3.0, 0.5] * 100, dtype=np.float32)
    path = tmp_path / "clip.wav"
    save_wav(path, x, SR)
    y = load_audio(path)
    assert y.max() == pytest.approx(1.0, abs=1 / 32768)
    assert y.min() == pytest.approx(-1.0, abs=1 / 32768)
    np.testing.assert_allclose(y[2::3], 0.5, atol=1 / 32768)


def test_stereo_is_mixed_to_channel_mean(tmp_path):
    rng = np.random.default_rng(0)
    stereo = rng.uniform(-0.5, 0.5, (SR, 2)).astype(np.float32)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, SR, subtype="FLOAT")
    y = load_audio(path)
    assert y.shape == (SR,)
    np.testing.assert_allclose(y, stereo.mean(axis=1), atol=1e-7)


def test_save_wav_creates_parents_overwrites_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "deep" / "er" / "x.wav"
    save_wav(path, _sine(440, SR), SR)
    save_wav(path, _sine(220, SR, seconds=0.5), SR)  # replaces the first file
    assert sorted(os.listdir(path.parent)) == ["x.wav"]
    assert len(load_audio(path)) == SR // 2


def test_failed_save_keeps_old_file_and_no_temp(tmp_path):
    path = tmp_path / "x.wav"
    save_wav(path, _sine(440, SR), SR)
    with pytest.raises(ValueError, match="NaN"):
        save_wav(path, np.array([0.0, np.nan], dtype=np.float32), SR)
    assert sorted(os.listdir(tmp_path)) == ["x.wav"]
    assert len(load_audio(path)) == SR


def test_wav_bytes_decodes_back():
    x = _sine(440, SR, seconds=0.25)
    data = wav_bytes(x, SR, subtype="FLOAT")
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WAVE"
    y, sr = sf.read(io.BytesIO(data), dtype="float32")
    assert sr == SR
    np.testing.assert_array_equal(y, x)
    pcm = wav_bytes(x, SR)
    assert pcm[:4] == b"RIFF"
    y16, _ = sf.read(io.BytesIO(pcm), dtype="float32")
    np.testing.assert_allclose(y16, x, atol=1.01 / 32768)


# ------------------------------------------------------------------------------------------
# resampling


def test_resample_length_and_frequency():
    x = _sine(440, 22050)
    y = resample(x, 22050, 16000)
    assert y.dtype == np.float32
    assert abs(len(y) - 16000) <= 1
    assert _peak_hz(y, 16000) == pytest.approx(440, abs=1.0)


def test_load_audio_resamples(tmp_path):
    path = tmp_path / "22k.wav"
    save_wav(path, _sine(440, 22050), 22050, subtype="FLOAT")
    y = load_audio(path, sample_rate=16000)
    assert abs(len(y) - 16000) <= 1
    assert _peak_hz(y, 16000) == pytest.approx(440, abs=1.0)
    assert len(load_audio(path, sample_rate=22050)) == 22050


def test_resample_identity_is_a_float32_copy():
    x = _sine(440, SR).astype(np.float64)
    y = resample(x, SR, SR)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, x.astype(np.float32))
    y[0] = 123.0
    assert x[0] != 123.0


@pytest.mark.parametrize(("orig", "target"), [(0, 16000), (16000, -1), (-5, 0)])
def test_resample_rejects_non_positive_rates(orig, target):
    with pytest.raises(ValueError, match="positive"):
        resample(np.zeros(10, np.float32), orig, target)


# ------------------------------------------------------------------------------------------
# bad files all raise AudioError


def _missing(tmp_path):
    return tmp_path / "nope.wav"


def _random_bytes(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


def _text_file(tmp_path):
    path = tmp_path / "readme.wav"
    path.write_text("this is not audio\n" * 50)
    return path


def _truncated(tmp_path):
    path = tmp_path / "truncated.wav"
    save_wav(path, _sine(440, SR), SR)
    with open(path, "r+b") as f:
        f.truncate(30)
    return path


def _empty(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, np.float32), SR, subtype="PCM_16")
    return path


def _nan(tmp_path):
    path = tmp_path / "nan.wav"
    x = _sine(440, SR)
    x[100] = np.nan
    sf.write(path, x, SR, subtype="FLOAT")
    return path


def _inf(tmp_path):
    path = tmp_path / "inf.wav"
    x = _sine(440, SR)
    x[7] = np.inf
    sf.write(path, x, SR, subtype="FLOAT")
    return path


def _directory(tmp_path):
    path = tmp_path / "dir.wav"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_missing, "not found"),
        (_random_bytes, "cannot read audio"),
        (_text_file, "cannot read audio"),
        (_truncated, "cannot read audio"),
        (_empty, "no samples"),
        (_nan, "NaN"),
        (_inf, "NaN or infinite"),
        (_directory, "directory"),
    ],
)
def test_bad_files_raise_audio_error(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(AudioError, match=reason) as info:
        load_audio(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_load_audio_rejects_bad_sample_rate(tmp_path):
    path = tmp_path / "a.wav"
    save_wav(path, _sine(440, SR), SR)
    with pytest.raises(ValueError, match="sample_rate"):
        load_audio(path, sample_rate=0)


# ------------------------------------------------------------------------------------------
# save_wav input validation


@pytest.mark.parametrize(
    ("samples", "sample_rate", "subtype", "message"),
    [
        (np.array([0.1, np.nan], np.float32), SR, "PCM_16", "NaN"),
        (np.array([0.1, np.inf], np.float32), SR, "FLOAT", "NaN or infinite"),
        (np.zeros((2, 100), np.float32), SR, "PCM_16", r"shape \(2, 100\)"),
        (np.zeros(0, np.float32), SR, "PCM_16", "empty"),
        (np.zeros(10, np.float32), 0, "PCM_16", "positive"),
        (np.zeros(10, np.float32), 16000.5, "PCM_16", "integer"),
        (np.zeros(10, np.float32), SR, "PCM_24", "subtype"),
        (np.zeros(10, np.int16), SR, "PCM_16", "int16"),
    ],
)
def test_save_wav_rejects_bad_input(tmp_path, samples, sample_rate, subtype, message):
    with pytest.raises(ValueError, match=message):
        save_wav(tmp_path / "x.wav", samples, sample_rate, subtype=subtype)
    with pytest.raises(ValueError, match=message):
        wav_bytes(samples, sample_rate, subtype=subtype)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------------------
# peak_normalize


def test_peak_normalize_scales_to_peak():
    x = np.array([0.1, -0.4, 0.2], dtype=np.float32)
    y = peak_normalize(x, peak=0.8)
    assert y.dtype == np.float32
    assert np.max(np.abs(y)) == pytest.approx(0.8)
    np.testing.assert_allclose(y, x * 2.0, rtol=1e-6)
    assert np.max(np.abs(peak_normalize(x * 100))) == pytest.approx(0.95)


def test_peak_normalize_keeps_shape():
    x = np.random.default_rng(0).normal(size=(3, 50))
    assert peak_normalize(x).shape == (3, 50)


def test_peak_normalize_leaves_silence_alone():
    x = np.zeros(100, dtype=np.float32)
    with np.errstate(all="raise"):  # no 0/0 warning hidden anywhere
        y = peak_normalize(x)
    np.testing.assert_array_equal(y, x)
    assert peak_normalize(np.zeros(0, np.float32)).shape == (0,)


@pytest.mark.parametrize("peak", [0.0, -0.5, 1.01, float("nan")])
def test_peak_normalize_rejects_bad_peak(peak):
    with pytest.raises(ValueError, match="peak must be in"):
        peak_normalize(np.ones(4, np.float32), peak=peak)


def test_peak_normalize_rejects_non_finite_samples():
    with pytest.raises(ValueError, match="NaN or infinite"):
        peak_normalize(np.array([0.5, np.nan], np.float32))


# ------------------------------------------------------------------------------------------
# dependency boundary


def test_importing_flowaudio_audio_does_not_import_torch():
    # A None entry in sys.modules makes any `import torch` raise ImportError.
    code = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None
        import flowaudio.audio
        assert "librosa" not in sys.modules, "flowaudio.audio imported librosa"
        """
    )
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env)


# Compressed formats by suffix (the runtime's Audio.save and `flowaudio say -o`)


def test_file_format_follows_the_suffix_and_lists_what_it_can_write(tmp_path):
    from flowaudio.audio.io import file_format, file_formats

    formats = file_formats()
    assert formats[0] == "wav"
    assert file_format(tmp_path / "a.WAV") == "wav" and file_format(tmp_path / "noext") == "wav"
    for fmt in formats:
        assert file_format(f"x.{fmt}") == fmt
    with pytest.raises(ValueError, match=r"\.aiff \(unknown audio format\); use one of \.wav"):
        file_format("speech.aiff")


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "opus", "mp3"])
def test_save_audio_writes_each_format_it_lists(tmp_path, fmt):
    from flowaudio.audio.io import file_formats, save_audio

    if fmt not in file_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    sr = 22050  # not an Opus rate: resampled up to 24 kHz for it
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32)
    path = tmp_path / f"tone.{fmt}"
    save_audio(path, tone, sr)
    info = sf.info(path)
    assert info.format == {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "opus": "OGG",
                           "mp3": "MP3"}[fmt]  # fmt: skip
    assert info.samplerate == (24000 if fmt == "opus" else sr)
    back = load_audio(path, sample_rate=sr)
    assert abs(len(back) - sr) < 0.1 * sr  # codecs pad a little
    assert 0.3 < np.abs(back).max() < 0.7
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left


def test_peak_limiter_turns_loud_speech_down_and_leaves_quiet_speech_alone():
    from flowaudio.audio.level import OUTPUT_PEAK, PeakLimiter

    quiet = np.array([0.1, -0.5, 0.3], np.float32)
    assert np.array_equal(PeakLimiter()(quiet), quiet)  # never boosted
    loud = np.array([0.5, -2.0, 1.0, np.nan, np.inf], np.float32)
    out = PeakLimiter()(loud)
    assert np.abs(out).max() == pytest.approx(OUTPUT_PEAK)
    assert out[0] == pytest.approx(0.5 * OUTPUT_PEAK / 2.0) and out[3] == 0 and out[4] == 0
    chunks = PeakLimiter()  # a stream: the gain falls at the loud chunk and stays down
    first = chunks(np.array([0.5], np.float32))
    second = chunks(np.array([3.0], np.float32))
    third = chunks(np.array([0.5], np.float32))
    assert first[0] == 0.5 and second[0] == pytest.approx(OUTPUT_PEAK)
    assert third[0] == pytest.approx(0.5 * OUTPUT_PEAK / 3.0)
