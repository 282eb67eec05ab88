"""The math of the evaluation, in numpy only: mel-cepstra, DTW, MCD, speaker similarity, bars.

Nothing here loads a model or a file, so every function is tested against hand-computed
cases (``tests/test_evaluate.py``).

Mel-cepstral distortion, as computed here (there are several conventions; this is one, stated
exactly so numbers can be compared):

1. features: the project's log-mel spectrogram (:func:`flowaudio.audio.log_mel_spectrogram`),
   the natural log of the mel-filtered STFT *amplitude*, ``x[n, t]`` for bands n = 0..N-1;
2. mel-cepstrum: the cosine transform of each frame along the mel axis, scaled like the
   amplitude cepstrum of SPTK's ``mcep`` (whose frequency axis is also mel-warped)::

       c[m, t] = (1 / N) * sum_n x[n, t] * cos(pi * m * (n + 1/2) / N)

   so that ``x[n, t] = c[0, t] + 2 * sum_{m>=1} c[m, t] * cos(pi * m * (n + 1/2) / N)``
   (a DCT-II divided by 2N); ``c[0]`` (loudness) is left out of the distance;
3. alignment: DTW between the two cepstrum sequences with steps (1, 0), (0, 1), (1, 1) and the
   Euclidean distance of c[1..D] as local cost (:func:`dtw`);
4. distortion: the mean over the K pairs (i, j) of the DTW path of

       MCD(i, j) = (10 * sqrt(2) / ln 10) * sqrt(sum_{m=1..D} (c_a[m, i] - c_b[m, j]) ** 2)

   in dB; D = 24 by default (``DEFAULT_MCD_ORDER``).

Taking the log *power* (2x) instead of the log amplitude, or an orthonormal DCT (sqrt(2N)x)
instead of step 2's scaling, multiplies every number by that factor: MCDs from other tools are
comparable only when they use the same convention.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DEFAULT_MCD_ORDER",
    "MCD_DB",
    "DtwResult",
    "McdResult",
    "Pace",
    "QualityBars",
    "SimilarityBar",
    "SimilarityMatrix",
    "WerBar",
    "dtw",
    "mean_embedding",
    "mel_cepstral_distortion",
    "mel_cepstrum",
    "similarity_matrix",
    "speech_span",
    "wer_bar",
]

#: 10 * sqrt(2) / ln(10): cepstral distance (nepers of amplitude) -> dB, the usual MCD constant.
MCD_DB = 10.0 * math.sqrt(2.0) / math.log(10.0)
#: Cepstral coefficients c[1..D] compared by the MCD.
DEFAULT_MCD_ORDER = 24


# ---------------------------------------------------------------------------------------------
# Mel-cepstral distortion


def mel_cepstrum(log_mel: np.ndarray, order: int = DEFAULT_MCD_ORDER) -> np.ndarray:
    """Step 2 of the module docstring: c[0..order] of each frame of a log-mel spectrogram.

    Args:
        log_mel: (N, T) natural-log mel amplitudes, N bands.
        order: highest coefficient D (1 <= D < N).

    Returns:
        (D + 1, T) float64 cepstra, c[0] included (callers drop it for distances).
    """
    x = np.asarray(log_mel, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"expected a log-mel spectrogram of shape (bands, frames), got {x.shape}")
    n_bands = x.shape[0]
    if not 1 <= order < n_bands:
        raise ValueError(f"order must be in [1, {n_bands - 1}] for {n_bands} bands, got {order}")
    m = np.arange(order + 1)[:, None]
    n = np.arange(n_bands)[None, :]
    basis = np.cos(np.pi * m * (n + 0.5) / n_bands) / n_bands  # (D + 1, N)
    return basis @ x


@dataclass(frozen=True)
class DtwResult:
    """An optimal monotone alignment of two sequences.

    Attributes:
        cost: the summed local cost along the path.
        path: (K, 2) int array of index pairs (i, j), from (0, 0) to (n - 1, m - 1).
    """

    cost: float
    path: np.ndarray


def dtw(a: np.ndarray, b: np.ndarray) -> DtwResult:
    """Dynamic time warping of a (D, n) and b (D, m) under Euclidean frame distance.

    The accumulated cost is ``A[i, j] = d(i, j) + min(A[i-1, j], A[i, j-1], A[i-1, j-1])``
    (steps (1, 0), (0, 1), (1, 1), each pair's cost counted once). Each row is solved in one
    vectorised pass: unrolling the within-row term gives, with ``u[j] = min(A[i-1, j],
    A[i-1, j-1])`` and the row's prefix sums ``S[j] = sum_{l<=j} d(i, l)``,
    ``A[i, j] = S[j] + min_{k<=j} (u[k] + d(i, k) - S[k])``, a running minimum.
    Memory and time are O(n * m).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0] or not a.shape[1] or not b.shape[1]:
        raise ValueError(
            f"dtw needs two non-empty (features, frames) arrays with the same feature count, "
            f"got {a.shape} and {b.shape}"
        )
    # Pairwise Euclidean distances (n, m) via |x|^2 + |y|^2 - 2 x.y, clipped against rounding.
    sq = (a * a).sum(0)[:, None] + (b * b).sum(0)[None, :] - 2.0 * (a.T @ b)
    dist = np.sqrt(np.maximum(sq, 0.0))
    n, m = dist.shape
    acc = np.empty((n, m))
    prev = np.full(m, np.inf)
    for i in range(n):
        d = dist[i]
        if i == 0:
            u = np.full(m, np.inf)
            u[0] = 0.0
        else:
            u = prev.copy()
            u[1:] = np.minimum(prev[1:], prev[:-1])
        s = np.cumsum(d)
        acc[i] = s + np.minimum.accumulate(u + d - s)
        prev = acc[i]
    # Backtrack, preferring the diagonal on ties so that equal sequences give the diagonal.
    i, j = n - 1, m - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            steps = ((i - 1, j - 1), (i - 1, j), (i, j - 1))
            i, j = min(steps, key=lambda p: acc[p])
        path.append((i, j))
    return DtwResult(cost=float(acc[-1, -1]), path=np.asarray(path[::-1], dtype=np.int64))


@dataclass(frozen=True)
class McdResult:
    """Mel-cepstral distortion of one pair of utterances (module docstring, steps 1-4).

    Attributes:
        mcd: mean MCD over the DTW path, in dB.
        frames: frames of the two utterances (synthesized, reference).
        path_length: aligned pairs K the mean runs over.
    """

    mcd: float
    frames: tuple[int, int]
    path_length: int


def mel_cepstral_distortion(
    log_mel: np.ndarray, reference_log_mel: np.ndarray, order: int = DEFAULT_MCD_ORDER
) -> McdResult:
    """MCD in dB between two log-mel spectrograms (N, T1) and (N, T2), DTW-aligned."""
    if np.shape(log_mel)[0] != np.shape(reference_log_mel)[0]:
        raise ValueError(
            f"both spectrograms need the same mel bands, got {np.shape(log_mel)} and "
            f"{np.shape(reference_log_mel)}"
        )
    a = mel_cepstrum(log_mel, order)[1:]
    b = mel_cepstrum(reference_log_mel, order)[1:]
    result = dtw(a, b)
    # The per-pair distances again (DTW only keeps their sum): mean over the path.
    diff = a[:, result.path[:, 0]] - b[:, result.path[:, 1]]
    per_pair = np.sqrt((diff * diff).sum(0))
    return McdResult(
        mcd=float(MCD_DB * per_pair.mean()),
        frames=(a.shape[1], b.shape[1]),
        path_length=len(result.path),
    )


# ---------------------------------------------------------------------------------------------
# Speaker similarity


def mean_embedding(embeddings: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """A speaker's embedding: the mean of unit-normalised utterance embeddings (U, E),
    normalised again to unit length (the GE2E "centroid")."""
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] == 0:
        raise ValueError(f"expected (utterances, dims) embeddings, got shape {e.shape}")
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    if np.any(norms == 0) or not np.all(np.isfinite(e)):
        raise ValueError("utterance embeddings must be finite and non-zero")
    centroid = (e / norms).mean(0)
    return centroid / np.linalg.norm(centroid)


@dataclass(frozen=True)
class SimilarityBar:
    """Is a synthesized speaker closer to its own teacher than to every other teacher?

    Attributes:
        own: cosine similarity to the teacher of the same name.
        best_other: the highest similarity to any other teacher (None with a single teacher).
        best_other_speaker: that teacher.
        passed: ``own > best_other``; None when it cannot be measured (no such teacher, or no
            other teacher to compare with).
    """

    own: float | None
    best_other: float | None
    best_other_speaker: str | None
    passed: bool | None


@dataclass(frozen=True)
class SimilarityMatrix:
    """Cosine similarities of synthesized speakers (rows) to teacher speakers (columns)."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    values: np.ndarray
    """(len(rows), len(columns))"""

    def bar(self, speaker: str) -> SimilarityBar:
        """The similarity bar of one synthesized speaker (its row's own column is the max)."""
        if speaker not in self.rows or speaker not in self.columns:
            return SimilarityBar(None, None, None, None)
        row = self.values[self.rows.index(speaker)]
        own = float(row[self.columns.index(speaker)])
        others = [(float(v), c) for v, c in zip(row, self.columns, strict=True) if c != speaker]
        if not others:
            return SimilarityBar(own, None, None, None)
        best, best_speaker = max(others)
        return SimilarityBar(own, best, best_speaker, own > best)

    def to_dict(self) -> dict:
        return {
            "rows": list(self.rows),
            "columns": list(self.columns),
            "values": [[float(v) for v in row] for row in self.values],
        }


def similarity_matrix(
    synthesized: Mapping[str, np.ndarray], teachers: Mapping[str, np.ndarray]
) -> SimilarityMatrix:
    """Cosine similarity of each synthesized speaker embedding to each teacher embedding."""
    if not synthesized or not teachers:
        raise ValueError("need at least one synthesized and one teacher speaker embedding")
    rows, cols = tuple(synthesized), tuple(teachers)
    a = np.stack([np.asarray(synthesized[s], dtype=np.float64) for s in rows])
    b = np.stack([np.asarray(teachers[s], dtype=np.float64) for s in cols])
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return SimilarityMatrix(rows, cols, a @ b.T)


# ---------------------------------------------------------------------------------------------
# Quality bars


@dataclass(frozen=True)
class QualityBars:
    """The default voice's bars: synthesized WER at most ``margin`` above the reference WER on
    the same sentences (absolute, 0.10 = 10 points), per speaker and step count."""

    default_steps_margin: float = 0.10
    """Allowed WER above the reference at the voice's default step count."""
    two_steps_margin: float = 0.15
    """Allowed WER above the reference at 2 steps."""


@dataclass(frozen=True)
class WerBar:
    """WER of synthesized speech against the reference WER plus a margin.

    Attributes:
        steps: the step count this bar is measured at.
        margin: allowed excess (absolute WER).
        wer, reference_wer: the two corpus-level WERs (None when not measured).
        passed: ``wer <= reference_wer + margin``; None when either WER is missing.
    """

    steps: int
    margin: float
    wer: float | None
    reference_wer: float | None
    passed: bool | None


def wer_bar(steps: int, margin: float, wer: float | None, reference_wer: float | None) -> WerBar:
    """Check ``wer <= reference_wer + margin`` (a rounding guard of 1e-9 keeps 0.3 vs
    0.2 + 0.1 a pass)."""
    if wer is None or reference_wer is None:
        return WerBar(steps, margin, wer, reference_wer, None)
    return WerBar(steps, margin, wer, reference_wer, wer <= reference_wer + margin + 1e-9)


# ---------------------------------------------------------------------------------------------
# Pace


def speech_span(samples: np.ndarray, sample_rate: int, top_db: float = 40.0) -> float:
    """Seconds from the first to the last 20 ms frame (10 ms hop) whose RMS is within ``top_db``
    of the loudest frame's: the clip without its leading and trailing silence (pauses inside
    are kept), to within a frame. 0.0 for silence or a clip shorter than one frame."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected mono audio, got shape {x.shape}")
    frame, hop = int(0.02 * sample_rate), int(0.01 * sample_rate)
    if frame < 1 or hop < 1 or len(x) < frame:
        return 0.0
    starts = np.arange(0, len(x) - frame + 1, hop)
    energy = np.concatenate([[0.0], np.cumsum(x * x)])
    power = (energy[starts + frame] - energy[starts]) / frame
    if not power.max() > 0:
        return 0.0
    loud = np.flatnonzero(power >= power.max() * 10.0 ** (-top_db / 10.0))
    return float((starts[loud[-1]] + frame - starts[loud[0]]) / sample_rate)


@dataclass(frozen=True)
class Pace:
    """Durations of synthesized clips against the references of the same sentences (totals
    over the clips; a ratio above 1 is slower speech)."""

    seconds: float
    reference_seconds: float
    speech_seconds: float
    """Without each clip's leading and trailing silence (:func:`speech_span`)."""
    reference_speech_seconds: float
    ratio: float = field(init=False)
    speech_ratio: float = field(init=False)

    def __post_init__(self) -> None:
        if not (self.reference_seconds > 0 and self.reference_speech_seconds > 0):
            raise ValueError(
                f"reference durations must be positive, got {self.reference_seconds} s and "
                f"{self.reference_speech_seconds} s of speech"
            )
        object.__setattr__(self, "ratio", self.seconds / self.reference_seconds)
        object.__setattr__(
            self, "speech_ratio", self.speech_seconds / self.reference_speech_seconds
        )
