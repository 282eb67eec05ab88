"""ISTFT module: exact inverse of the project framing, equal to torch.istft, exportable."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F

from flowaudio.audio.config import AUDIO_PRESETS, AudioConfig
from flowaudio.audio.mel import hann_window
from flowaudio.models.istft import ISTFT

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


def _analysis(x: torch.Tensor, cfg: AudioConfig) -> torch.Tensor:
    """The project STFT: reflect pad (n_fft - hop) // 2, no centring, the mel window."""
    pad = (cfg.n_fft - cfg.hop_length) // 2
    padded = F.pad(x.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    window = torch.from_numpy(hann_window(cfg)).to(x.dtype)
    return torch.stft(
        padded,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.n_fft,
        window=window,
        center=False,
        return_complex=True,
    )


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_istft_inverts_the_project_stft(name: str) -> None:
    cfg = CONFIGS[name]
    torch.manual_seed(0)
    frames = 40
    x = torch.randn(3, frames * cfg.hop_length)
    spec = _analysis(x, cfg)
    assert spec.shape == (3, cfg.n_fft // 2 + 1, frames)
    istft = ISTFT(cfg)
    y = istft(spec.abs(), spec.angle())
    assert y.shape == x.shape
    torch.testing.assert_close(y, x, atol=1e-4, rtol=0)
    torch.testing.assert_close(istft.from_complex(spec.real, spec.imag), y, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_istft_matches_torch_istft(name: str) -> None:
    # torch.istft(center=False) rejects any window that is zero at its first sample (NOLA check
    # over the untrimmed signal), so compare with center=True: its frames start n_fft // 2
    # before each hop where ours start (n_fft - hop) // 2 before, so its output is ours
    # delayed by hop / 2 samples.
    cfg = CONFIGS[name]
    torch.manual_seed(1)
    frames = 25
    spec = torch.randn(2, cfg.n_fft // 2 + 1, frames, dtype=torch.complex64)
    ours = ISTFT(cfg).from_complex(spec.real, spec.imag)
    shift = cfg.hop_length // 2
    window = torch.from_numpy(hann_window(cfg))
    theirs = torch.istft(
        spec,
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.n_fft,
        window=window,
        center=True,
        length=frames * cfg.hop_length - shift,
    )
    torch.testing.assert_close(ours[:, shift:], theirs, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_envelope_is_never_tiny_inside_the_kept_region(name: str) -> None:
    cfg = CONFIGS[name]
    istft = ISTFT(cfg)
    pad = istft.pad
    ones = torch.ones(1, 1, 30)
    envelope = F.conv_transpose1d(ones, istft.window_sq, stride=cfg.hop_length)[0, 0]
    kept = envelope[pad : pad + 30 * cfg.hop_length]
    # 16k/22k: edges 0.75 against 1.5 in the middle; odd: 0.56 against 1.125
    assert float(kept.min()) > 0.4 * float(kept.max())


def test_istft_rejects_bad_shapes() -> None:
    istft = ISTFT(AUDIO_PRESETS["16k"])
    with pytest.raises(ValueError, match=r"\(B, 513, T\)"):
        istft(torch.zeros(1, 512, 4), torch.zeros(1, 512, 4))
    with pytest.raises(ValueError, match="equal shape"):
        istft(torch.zeros(1, 513, 4), torch.zeros(1, 513, 5))


def test_istft_onnx_export_with_dynamic_frames(tmp_path: Path) -> None:
    cfg = AUDIO_PRESETS["16k"]
    istft = ISTFT(cfg).eval()
    path = tmp_path / "istft.onnx"
    n_bins = cfg.n_fft // 2 + 1
    example = (torch.rand(1, n_bins, 16), torch.randn(1, n_bins, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporter deprecation and tracer notices
        torch.onnx.export(
            istft,
            example,
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["magnitude", "phase"],
            output_names=["audio"],
            dynamic_axes={
                "magnitude": {0: "batch", 2: "frames"},
                "phase": {0: "batch", 2: "frames"},
                "audio": {0: "batch", 1: "samples"},
            },
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(2)
    for batch, frames in ((1, 7), (2, 150)):
        magnitude = torch.rand(batch, n_bins, frames, generator=generator)
        phase = 4 * torch.randn(batch, n_bins, frames, generator=generator)
        (onnx_audio,) = session.run(None, {"magnitude": magnitude.numpy(), "phase": phase.numpy()})
        expected = istft(magnitude, phase).numpy()
        assert onnx_audio.shape == (batch, frames * cfg.hop_length)
        np.testing.assert_allclose(onnx_audio, expected, atol=1e-4, rtol=0)
