"""Audio as every judge (ASR, DNSMOS, speaker encoder) takes it: mono float32 at its rate."""

from __future__ import annotations

import numpy as np

from flowaudio.audio.io import resample


def judge_input(samples: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    """``samples`` (mono float audio in [-1, 1], any rate) as float32 at ``target_rate``.

    Raises:
        ValueError: not 1-D, or empty.
    """
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim != 1 or audio.size == 0:
        raise ValueError(f"expected non-empty mono audio, got shape {audio.shape}")
    if sample_rate != target_rate:
        audio = resample(audio, sample_rate, target_rate)
    return audio
