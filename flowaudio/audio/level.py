"""Output level: no sample of synthesized speech leaves the runtime clipped.

A vocoder is trained towards [-1, 1] but nothing bounds it, and a hard clip of an overshoot is
an audible crack (and a wrapped one in 16-bit PCM a loud click). Speech that overshoots is
turned down instead, never up: quiet speech keeps its level.
"""

from __future__ import annotations

import numpy as np

__all__ = ["OUTPUT_PEAK", "PeakLimiter"]

#: Highest |sample| the runtime gives out. Speech louder than this is scaled down to it; the
#: headroom under 1 is for resamplers and lossy encoders (Opus, MP3), whose output overshoots
#: its input's peak a little.
OUTPUT_PEAK = 0.97


class PeakLimiter:
    """Scales a waveform down, never up, so that no sample exceeds ``peak``.

    The gain is ``min(1, peak / max|x|)`` over every sample this limiter has seen: one call on
    a whole sentence peak-normalises it down (only when it overshoots); called chunk by chunk
    (a stream), the gain falls when a louder chunk arrives and never rises again, so a sentence
    does not pump. Use one limiter per sentence. NaN and infinite samples become 0.

    Args:
        peak: the ceiling, in (0, 1].
    """

    def __init__(self, peak: float = OUTPUT_PEAK):
        if not 0.0 < peak <= 1.0:
            raise ValueError(f"peak must be in (0, 1], got {peak}")
        self.peak = peak
        self.gain = 1.0

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """(T,) float samples -> (T,) float32, ``|x| <= peak``."""
        x = np.nan_to_num(np.asarray(samples, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        top = float(np.max(np.abs(x))) if x.size else 0.0
        if top * self.gain > self.peak:
            self.gain = self.peak / top
        if self.gain == 1.0:
            return x
        # float32 rounding could land a hair above the ceiling: clip to it after scaling.
        return np.clip(x * np.float32(self.gain), -self.peak, self.peak)
