"""Tests for the log-mel definition: numpy reference vs librosa (truth) and vs the torch twin."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from flowaudio.audio import (
    hann_window,
    log_mel_spectrogram,
    mel_filterbank,
    min_num_samples,
    num_frames,
    stft_magnitude,
)
from flowaudio.audio.config import AUDIO_PRESETS, AudioConfig
from flowaudio.audio.mel_torch import LogMelSpectrogram

# win_length < n_fft, f_min > 0, f_max < sr/2 and a non-default mel count exercise every branch
ODD = AudioConfig(
    sample_rate=24000,
    n_fft=800,
    hop_length=200,
    win_length=600,
    n_mels=100,
    f_min=50.0,
    f_max=11000.0,
)
CONFIGS = {**AUDIO_PRESETS, "odd": ODD}
PRESETS = sorted(AUDIO_PRESETS)


def _noise(cfg: AudioConfig) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.3 * rng.standard_normal(cfg.sample_rate)).astype(np.float32)


def _chirp(cfg: AudioConfig) -> np.ndarray:
    """One second sweeping linearly from 50 Hz to Nyquist: every band is lit once, and the far
    bands of each frame sit close to the log floor."""
    sr = cfg.sample_rate
    t = np.arange(sr) / sr
    f0, f1 = 50.0, sr / 2
    return (0.5 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / 2))).astype(np.float32)


def _batch(cfg: AudioConfig) -> np.ndarray:
    rng = np.random.default_rng(0)
    gains = np.array([[0.01], [0.3], [1.0]])
    return (gains * rng.standard_normal((3, 12345))).astype(np.float32)


SIGNALS = {"noise": _noise, "chirp": _chirp, "batch": _batch}


# ------------------------------------------------------------------------------------------
# filterbank and window against librosa


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_mel_filterbank_matches_librosa(name):
    cfg = CONFIGS[name]
    ref = librosa.filters.mel(
        sr=cfg.sample_rate,
        n_fft=cfg.n_fft,
        n_mels=cfg.n_mels,
        fmin=cfg.f_min,
        fmax=cfg.f_max,
        htk=False,
        norm="slaney",
    )
    ours = mel_filterbank(cfg)
    assert ours.shape == (cfg.n_mels, cfg.n_fft // 2 + 1)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-6, rtol=0)


def test_mel_filterbank_is_cached_and_read_only():
    cfg = AUDIO_PRESETS["22k"]
    a = mel_filterbank(cfg)
    assert mel_filterbank(AudioConfig(**vars(cfg))) is a  # equal configs share the entry
    with pytest.raises(ValueError, match="read-only"):
        a[0, 0] = 1.0


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_hann_window_matches_librosa_and_torch(name):
    cfg = CONFIGS[name]
    ours = hann_window(cfg)
    assert ours.shape == (cfg.n_fft,)
    ref = librosa.util.pad_center(
        librosa.filters.get_window("hann", cfg.win_length, fftbins=True), size=cfg.n_fft
    )
    np.testing.assert_allclose(ours, ref, atol=1e-7)  # float32 rounding
    left = (cfg.n_fft - cfg.win_length) // 2
    right = cfg.n_fft - cfg.win_length - left
    ref_torch = torch.nn.functional.pad(
        torch.hann_window(cfg.win_length, periodic=True), (left, right)
    )
    # torch evaluates the cosine in float32
    np.testing.assert_allclose(ours, ref_torch.numpy(), atol=1e-6)


@pytest.mark.parametrize("name", PRESETS)
def test_stft_magnitude_matches_librosa_on_padded_signal(name):
    """Steps 1-5 of the definition: librosa's un-centred STFT of the reflect-padded signal."""
    cfg = CONFIGS[name]
    t = np.arange(cfg.sample_rate // 2) / cfg.sample_rate
    y = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    pad = (cfg.n_fft - cfg.hop_length) // 2
    ref = np.abs(
        librosa.stft(
            np.pad(y, pad, mode="reflect"),
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            win_length=cfg.win_length,
            center=False,
            window="hann",
        )
    )
    ours = stft_magnitude(y, cfg)
    assert ours.shape == ref.shape == (cfg.n_fft // 2 + 1, len(y) // cfg.hop_length)
    # The definition adds 1e-9 under the square root; put it on librosa's side too. The atol
    # (1e-6 of the peak, -120 dB) absorbs our float32 window against librosa's float64 one,
    # which only shows in sidelobe bins far below the tone.
    np.testing.assert_allclose(ours, np.sqrt(ref**2 + 1e-9), rtol=1e-3, atol=1e-6 * ref.max())
    # where the tone is, the epsilon is negligible: plain |STFT| agrees as well
    loud = ref > 1e-2 * ref.max()
    np.testing.assert_allclose(ours[loud], ref[loud], rtol=1e-6)


# ------------------------------------------------------------------------------------------
# numpy reference vs torch twin


@pytest.mark.parametrize("signal", sorted(SIGNALS))
@pytest.mark.parametrize("name", PRESETS)
def test_torch_float64_matches_numpy_reference(name, signal):
    """In float64 the two implementations agree to rounding: proves they share one definition."""
    cfg = CONFIGS[name]
    x = SIGNALS[signal](cfg)
    ref = log_mel_spectrogram(x, cfg)
    module = LogMelSpectrogram(cfg).double()
    out = module(torch.from_numpy(x.astype(np.float64))).numpy()
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() < 1e-4


@pytest.mark.parametrize("signal", sorted(SIGNALS))
@pytest.mark.parametrize("name", PRESETS)
def test_torch_float32_matches_numpy_reference(name, signal):
    """The float32 module used in training.

    float32 STFT rounding is about 1e-7 of a frame's peak. In the log domain that is below 1e-5
    for bands within ~50 dB of the peak, but grows to ~5e-3 near the log floor (chirp frames
    are silent far from the tone), so the log-domain bound covers mel values above exp(-6)
    and the whole spectrogram is compared in the linear domain, relative to its peak.
    """
    cfg = CONFIGS[name]
    x = SIGNALS[signal](cfg)
    ref = log_mel_spectrogram(x, cfg)
    out = LogMelSpectrogram(cfg)(torch.from_numpy(x)).numpy()
    assert out.dtype == np.float32
    assert out.shape == ref.shape
    audible = ref > -6.0
    assert audible.mean() > 0.05  # the comparison is not vacuous
    assert np.abs(out - ref)[audible].max() < 1e-4
    lin_ref, lin_out = np.exp(ref.astype(np.float64)), np.exp(out.astype(np.float64))
    assert np.abs(lin_out - lin_ref).max() < 1e-6 * lin_ref.max()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_batch_rows_equal_single_calls(name):
    cfg = CONFIGS[name]
    x = _batch(cfg)
    batched = log_mel_spectrogram(x, cfg)
    for i in range(len(x)):
        np.testing.assert_array_equal(batched[i], log_mel_spectrogram(x[i], cfg))
    module = LogMelSpectrogram(cfg)
    out = module(torch.from_numpy(x))
    assert out.shape == (3, cfg.n_mels, x.shape[1] // cfg.hop_length)
    torch.testing.assert_close(out[1], module(torch.from_numpy(x[1])), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_frames_equal_samples_over_hop(name):
    cfg = CONFIGS[name]
    module = LogMelSpectrogram(cfg)
    rng = np.random.default_rng(0)
    hop = cfg.hop_length
    lengths = [min_num_samples(cfg), hop * 3, hop * 3 + 1, hop * 4 - 1, hop * 7 + hop // 2, 10007]
    for n in lengths:
        x = rng.standard_normal(n).astype(np.float32)
        frames = num_frames(n, cfg)
        assert frames == n // hop
        assert log_mel_spectrogram(x, cfg).shape == (cfg.n_mels, frames)
        assert module(torch.from_numpy(x)).shape == (cfg.n_mels, frames)


# ------------------------------------------------------------------------------------------
# gradients


@pytest.mark.parametrize("log_floor", [1e-5, 1e-30])
def test_gradient_is_finite_on_silence(log_floor):
    # With log_floor=1e-30 the clamp is inactive on silence, so the gradient flows through
    # sqrt(|X|^2 + 1e-9) at X = 0, where a plain abs() would give NaN.
    cfg = AudioConfig(**{**vars(AUDIO_PRESETS["16k"]), "log_floor": log_floor})
    audio = torch.zeros(2, 4000, requires_grad=True)
    LogMelSpectrogram(cfg)(audio).sum().backward()
    assert audio.grad is not None
    assert torch.isfinite(audio.grad).all()


def test_gradient_flows_on_signal():
    cfg = AUDIO_PRESETS["16k"]
    audio = torch.from_numpy(_noise(cfg)[:4000]).requires_grad_(True)
    LogMelSpectrogram(cfg)(audio).sum().backward()
    assert audio.grad is not None
    assert torch.isfinite(audio.grad).all()
    assert audio.grad.abs().max() > 0


def test_buffers_follow_the_config_not_the_state_dict():
    module = LogMelSpectrogram(ODD)
    assert module.window.shape == (ODD.n_fft,)
    assert module.mel_basis.shape == (ODD.n_mels, ODD.n_fft // 2 + 1)
    assert module.state_dict() == {}


# ------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_too_short_input_raises_in_both(name):
    cfg = CONFIGS[name]
    need = min_num_samples(cfg)
    assert need == (cfg.n_fft - cfg.hop_length) // 2 + 1  # padding dominates in these configs
    short = np.zeros(need - 1, np.float32)
    message = rf"got {need - 1} samples but needs at least {need}"
    with pytest.raises(ValueError, match=message):
        log_mel_spectrogram(short, cfg)
    with pytest.raises(ValueError, match=message):
        LogMelSpectrogram(cfg)(torch.from_numpy(short))
    with pytest.raises(ValueError, match=message):
        LogMelSpectrogram(cfg)(torch.zeros(2, need - 1))


def test_one_frame_is_required_when_hop_exceeds_padding():
    cfg = AudioConfig(n_fft=1024, hop_length=512, win_length=1024)
    assert min_num_samples(cfg) == 512
    with pytest.raises(ValueError, match="one hop of 512"):
        log_mel_spectrogram(np.zeros(400, np.float32), cfg)
    with pytest.raises(ValueError, match="one hop of 512"):
        LogMelSpectrogram(cfg)(torch.zeros(400))
    assert log_mel_spectrogram(np.zeros(512, np.float32), cfg).shape == (80, 1)
    assert LogMelSpectrogram(cfg)(torch.zeros(512)).shape == (80, 1)


@pytest.mark.parametrize("shape", [(), (1, 2, 4000)])
def test_wrong_rank_raises_in_both(shape):
    cfg = AUDIO_PRESETS["16k"]
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(B, T\)"):
        log_mel_spectrogram(np.zeros(shape, np.float32), cfg)
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(B, T\)"):
        LogMelSpectrogram(cfg)(torch.zeros(shape))


def test_torch_rejects_integer_audio():
    cfg = AUDIO_PRESETS["16k"]
    with pytest.raises(TypeError, match="floating-point"):
        LogMelSpectrogram(cfg)(torch.zeros(4000, dtype=torch.int16))
