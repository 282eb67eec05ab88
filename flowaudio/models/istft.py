"""Inverse STFT built from fixed DFT bases, exportable to ONNX with a dynamic frame axis.

Why not ``torch.istft``: ONNX has no inverse-STFT operator, and ``torch.istft`` does not
export (torch 2.13: the TorchScript exporter rejects complex tensors, and the dynamo exporter
writes a graph onnxruntime refuses to load). The Vocos recipe for ONNX (F5-TTS
``conv_stft.py``, Kokoro's ``CustomSTFT``) is used instead: the inverse real DFT of every
frame, the synthesis window and the overlap-add are one ``conv_transpose1d`` whose kernel holds
the windowed cosine and sine bases, so the whole ISTFT is a ConvTranspose node plus a few
element-wise ops.

Framing is the project's (see :mod:`flowaudio.audio.mel`): the analysis reflect-pads
``pad = (n_fft - hop) // 2`` samples on each side and does not centre, so frame t covers
samples ``[t * hop - pad, t * hop - pad + n_fft)`` of the signal. The inverse overlap-adds T
frames into ``(T - 1) * hop + n_fft`` samples, divides by the window-sum-square envelope
(the least-squares inverse of Griffin and Lim, 1984) and cuts ``pad`` samples from both ends,
so T frames give exactly ``T * hop`` samples and ``istft(stft(x)) == x``.

The envelope depends on T, so it is computed in the graph (a ConvTranspose of the squared
window over a ones tensor shaped like one channel of the input): no table sized at export
time, no cap on the input length. With a Hann window and ``hop < win_length`` it is positive
over the whole kept region (at the two ends, where fewer frames overlap, it falls to half
its interior value), so no sample is lost to a tiny divisor; samples where it would fall below
``1e-11`` are left undivided.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from flowaudio.audio.config import AudioConfig
from flowaudio.audio.mel import hann_window

__all__ = ["ISTFT"]

# Envelope values below this count as zero: there the overlap-add is returned undivided.
_ENVELOPE_FLOOR = 1e-11


class ISTFT(nn.Module):
    """Inverse of the project STFT: (B, F, T) magnitude and phase -> (B, T * hop) audio.

    ``F = n_fft // 2 + 1``. The imaginary parts of the DC and Nyquist bins are ignored, as in
    any inverse real DFT.

    Buffers (derived from the config, not saved in state dicts):
        kernel: (2F, 1, n_fft) windowed inverse-DFT bases: rows ``[0, F)`` multiply the real
            parts, rows ``[F, 2F)`` the imaginary parts.
        window_sq: (1, 1, n_fft) the squared synthesis window, for the envelope.
    """

    kernel: Tensor
    window_sq: Tensor

    def __init__(self, cfg: AudioConfig) -> None:
        super().__init__()
        self.n_fft = cfg.n_fft
        self.hop_length = cfg.hop_length
        self.pad = (cfg.n_fft - cfg.hop_length) // 2
        self.n_bins = cfg.n_fft // 2 + 1
        window = hann_window(cfg).astype(np.float64)
        # x[n] = 1/N sum_f c_f (Re X_f cos(2 pi f n / N) - Im X_f sin(2 pi f n / N)), with
        # c_f = 1 for DC and Nyquist and 2 for the bins whose mirror image is not stored.
        n = np.arange(cfg.n_fft, dtype=np.float64)
        f = np.arange(self.n_bins, dtype=np.float64)
        angle = 2.0 * np.pi * np.outer(f, n) / cfg.n_fft  # (F, N)
        scale = np.full((self.n_bins, 1), 2.0 / cfg.n_fft)
        scale[0] = 1.0 / cfg.n_fft
        if cfg.n_fft % 2 == 0:
            scale[-1] = 1.0 / cfg.n_fft  # bin F - 1 is Nyquist only for an even n_fft
        basis = np.concatenate([scale * np.cos(angle), -scale * np.sin(angle)]) * window
        self.register_buffer(
            "kernel", torch.from_numpy(basis[:, None, :].astype(np.float32)), persistent=False
        )
        self.register_buffer(
            "window_sq",
            torch.from_numpy((window**2)[None, None, :].astype(np.float32)),
            persistent=False,
        )

    def forward(self, magnitude: Tensor, phase: Tensor) -> Tensor:
        """(B, F, T) magnitude and phase in radians -> (B, T * hop) waveform.

        Raises:
            ValueError: the inputs are not (B, F, T) with ``F = n_fft // 2 + 1``.
        """
        if magnitude.shape != phase.shape:
            raise ValueError(
                f"ISTFT expects magnitude and phase of equal shape (B, {self.n_bins}, T), got "
                f"{tuple(magnitude.shape)} and {tuple(phase.shape)}"
            )
        return self.from_complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))

    def from_complex(self, real: Tensor, imag: Tensor) -> Tensor:
        """(B, F, T) real and imaginary parts -> (B, T * hop) waveform.

        Raises:
            ValueError: the inputs are not (B, F, T) with ``F = n_fft // 2 + 1``.
        """
        if real.dim() != 3 or real.shape[1] != self.n_bins or real.shape != imag.shape:
            raise ValueError(
                f"ISTFT expects real and imag of equal shape (B, {self.n_bins}, T) "
                f"(F = n_fft // 2 + 1), got {tuple(real.shape)} and {tuple(imag.shape)}"
            )
        spec = torch.cat([real, imag], dim=1)  # (B, 2F, T)
        # inverse DFT, synthesis window and overlap-add in one op: (B, 1, (T - 1) hop + N)
        signal = F.conv_transpose1d(spec, self.kernel.to(spec.dtype), stride=self.hop_length)
        # Same length, traced from the input so it follows a dynamic T in ONNX.
        ones = torch.ones_like(real[:1, :1, :])  # (1, 1, T)
        envelope = F.conv_transpose1d(ones, self.window_sq.to(spec.dtype), stride=self.hop_length)
        if self.pad > 0:
            signal = signal[:, 0, self.pad : -self.pad]  # (B, T * hop)
            envelope = envelope[:, 0, self.pad : -self.pad]  # (1, T * hop)
        else:
            signal, envelope = signal[:, 0], envelope[:, 0]
        safe = torch.where(envelope > _ENVELOPE_FLOOR, envelope, torch.ones_like(envelope))
        return signal / safe
