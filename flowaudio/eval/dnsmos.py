"""DNSMOS (Reddy et al., ICASSP 2022): a non-intrusive MOS estimate, as an artifact alarm.

The ONNX models ship in the ``speechmos`` wheel (``speechmos/dnsmos_models``): ``model_v8``
predicts the P.808 MOS from a log-mel spectrogram; ``sig_bak_ovr`` predicts the P.835 signal
(SIG), background (BAK) and overall (OVRL) scores from the waveform, mapped through the
polynomials of the DNS challenge. Every score is the mean over 9.01 s windows hopped by 1 s, at
16 kHz; a shorter clip is repeated to fill one window (speechmos' ``DNSMOS.__call__``, used as
it is; only the sessions are made here, so the thread count is ours).

DNSMOS was trained on noisy and enhanced human speech: it flags buzz, noise, clicks and
clipping well, and says little about naturalness or prosody. Compare synthesized audio with the
references of the same sentences, never with a number from elsewhere.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flowaudio.eval.audio import judge_input

DNSMOS_SAMPLE_RATE = 16000


@dataclass(frozen=True)
class DnsmosScore:
    """DNSMOS of one clip (or a mean of clips), each on the 1-5 MOS scale."""

    p808: float
    sig: float
    bak: float
    ovrl: float

    @staticmethod
    def mean(scores: list[DnsmosScore]) -> DnsmosScore:
        if not scores:
            raise ValueError("need at least one DNSMOS score to average")
        return DnsmosScore(
            *(float(np.mean([getattr(s, f) for s in scores])) for f in DNSMOS_FIELDS)
        )

    def minus(self, other: DnsmosScore) -> DnsmosScore:
        """Field-wise ``self - other`` (synthesized minus reference)."""
        return DnsmosScore(*(getattr(self, f) - getattr(other, f) for f in DNSMOS_FIELDS))


DNSMOS_FIELDS = ("p808", "sig", "bak", "ovrl")


class Dnsmos:
    """The speechmos DNSMOS models on onnxruntime's CPU provider.

    Args:
        threads: onnxruntime intra-op threads of each of the two sessions.
    """

    def __init__(self, threads: int = 1):
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        spec = importlib.util.find_spec("speechmos")
        if spec is None or spec.origin is None:
            raise RuntimeError("DNSMOS needs speechmos: pip install 'flowaudio[eval]'")
        try:
            from speechmos.dnsmos import DNSMOS
        except ImportError as exc:  # speechmos declares no dependencies but imports librosa
            raise RuntimeError(
                f"DNSMOS needs speechmos and its imports ({exc}): pip install 'flowaudio[eval]'"
            ) from exc
        from flowaudio.runtime.session import make_session

        models = Path(spec.origin).parent / "dnsmos_models"
        scorer = DNSMOS.__new__(DNSMOS)  # its __init__ opens sessions with every core
        scorer.primary_model_path = str(models / "sig_bak_ovr.onnx")
        cpu = ["CPUExecutionProvider"]
        scorer.onnx_sess = make_session(models / "sig_bak_ovr.onnx", cpu, threads)
        scorer.p808_onnx_sess = make_session(models / "model_v8.onnx", cpu, threads)
        self._scorer = scorer
        self._lock = threading.Lock()

    def score(self, samples: np.ndarray, sample_rate: int) -> DnsmosScore:
        """DNSMOS of mono float audio in [-1, 1] (resampled to 16 kHz)."""
        audio = judge_input(samples, sample_rate, DNSMOS_SAMPLE_RATE)
        audio = np.clip(audio, -1.0, 1.0)  # speechmos refuses values outside [-1, 1]
        with self._lock:
            out = self._scorer(audio, DNSMOS_SAMPLE_RATE, False)
        return DnsmosScore(
            p808=float(out["p808_mos"]),
            sig=float(out["sig_mos"]),
            bak=float(out["bak_mos"]),
            ovrl=float(out["ovrl_mos"]),
        )
