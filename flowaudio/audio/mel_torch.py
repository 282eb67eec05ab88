"""Log-mel features in torch: the differentiable training twin of :mod:`flowaudio.audio.mel`.

The definition lives in the docstring of :mod:`flowaudio.audio.mel`; this module computes the
same thing with ``torch.stft`` and is tied to the numpy reference by a parity test. The window
and the mel basis are taken from the numpy module, so both share their parameters bit for bit.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from flowaudio.audio.config import AudioConfig
from flowaudio.audio.mel import MAGNITUDE_EPS, _check_waveform_shape, hann_window, mel_filterbank

__all__ = ["LogMelSpectrogram"]


class LogMelSpectrogram(torch.nn.Module):
    """Waveform to natural-log mel spectrogram, differentiable (the vocoder's loss uses it).

    Buffers (not saved in state dicts, since they follow from the config):
        window: (n_fft,) periodic Hann of ``win_length``, zero-padded centrally.
        mel_basis: (n_mels, n_fft // 2 + 1) Slaney mel filters.
    """

    window: Tensor
    mel_basis: Tensor

    def __init__(self, cfg: AudioConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("window", torch.from_numpy(hann_window(cfg)), persistent=False)
        # np.array copies: the cached filterbank is read-only and torch wants writable memory.
        self.register_buffer(
            "mel_basis", torch.from_numpy(np.array(mel_filterbank(cfg))), persistent=False
        )

    def forward(self, audio: Tensor) -> Tensor:
        """(T,) -> (n_mels, T // hop) or (B, T) -> (B, n_mels, T // hop), in the input dtype.

        Raises:
            ValueError: audio is not 1-D/2-D or shorter than ``mel.min_num_samples(cfg)``.
            TypeError: audio is not a floating-point tensor.
        """
        cfg = self.cfg
        _check_waveform_shape(tuple(audio.shape), cfg, "LogMelSpectrogram")
        if not audio.is_floating_point():
            raise TypeError(
                f"LogMelSpectrogram expects a floating-point waveform, got dtype {audio.dtype}; "
                "convert integer PCM first (e.g. audio / 32768.0 for int16)"
            )
        unbatched = audio.dim() == 1
        x = audio.unsqueeze(0) if unbatched else audio  # (B, T)
        pad = (cfg.n_fft - cfg.hop_length) // 2
        # reflect padding of the last dim wants a (N, C, T) input
        x = F.pad(x.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)  # (B, T + 2 * pad)
        # The window is already n_fft long, so torch.stft places it exactly as the numpy twin.
        spec = torch.stft(
            x,
            n_fft=cfg.n_fft,
            hop_length=cfg.hop_length,
            win_length=cfg.n_fft,
            window=self.window.to(x.dtype),
            center=False,
            return_complex=True,
        )  # (B, F, frames)
        mag = torch.sqrt(spec.real.square() + spec.imag.square() + MAGNITUDE_EPS)
        mel = torch.matmul(self.mel_basis.to(x.dtype), mag)  # (B, n_mels, frames)
        out = torch.log(torch.clamp(mel, min=cfg.log_floor))
        return out.squeeze(0) if unbatched else out
