"""Speaker embeddings with resemblyzer (GE2E d-vectors), on CPU, imported only when used.

resemblyzer ships its encoder weights inside the wheel (``resemblyzer/pretrained.pt``), so
nothing is downloaded. It runs on torch, which is fine for the ``eval`` extra; the rest of the
evaluation (and the runtime) stays torch-free because this module is imported lazily.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import sys
import types
import warnings
from collections.abc import Iterator

import numpy as np

from flowaudio.eval.audio import judge_input

#: resemblyzer's sample rate (``resemblyzer.hparams.sampling_rate``).
ENCODER_SAMPLE_RATE = 16000
# Below this many samples after silence trimming, embed the untrimmed clip instead.
_MIN_TRIMMED = ENCODER_SAMPLE_RATE // 4


@contextlib.contextmanager
def _pkg_resources_for_webrtcvad() -> Iterator[None]:
    """Let ``import webrtcvad`` work where setuptools no longer ships ``pkg_resources``.

    webrtcvad 2.0.10 (resemblyzer's voice-activity detector) only calls
    ``pkg_resources.get_distribution("webrtcvad").version`` at import, and setuptools >= 81
    removed that module. For the duration of the import a stand-in answering that one call
    from ``importlib.metadata`` is visible, and it is removed afterwards; where the real
    module exists nothing is touched.
    """
    if importlib.util.find_spec("pkg_resources") is not None or "webrtcvad" in sys.modules:
        yield
        return
    shim = types.ModuleType("pkg_resources")
    shim.get_distribution = lambda name: types.SimpleNamespace(  # type: ignore[attr-defined]
        version=importlib.metadata.version(name)
    )
    sys.modules["pkg_resources"] = shim
    try:
        yield
    finally:
        if sys.modules.get("pkg_resources") is shim:
            del sys.modules["pkg_resources"]


class SpeakerEncoder:
    """resemblyzer's ``VoiceEncoder`` on CPU: audio -> unit-norm 256-dim embedding.

    Args:
        threads: torch intra-op threads (process-wide: ``torch.set_num_threads``). One thread
            is the default: the 3-layer LSTM gains little from more, and on a busy machine
            extra torch threads wait on each other (measured 10-100x slower on 2 shared cores).
    """

    def __init__(self, threads: int = 1):
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        try:
            with _pkg_resources_for_webrtcvad(), warnings.catch_warnings():
                # resemblyzer imports scipy.ndimage.morphology, deprecated in SciPy 1.x.
                warnings.simplefilter("ignore", DeprecationWarning)
                import torch
                from resemblyzer import VoiceEncoder, preprocess_wav
        except ImportError as exc:
            raise RuntimeError(
                f"speaker similarity needs resemblyzer ({exc}): pip install 'flowaudio[eval]'"
            ) from exc
        torch.set_num_threads(threads)
        self._preprocess = preprocess_wav
        self._encoder = VoiceEncoder(device="cpu", verbose=False)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """The utterance embedding (256,) float64, unit length, of mono float audio.

        The audio is resampled to 16 kHz, volume-normalised and stripped of long silences
        (resemblyzer's ``preprocess_wav``) and embedded with ``embed_utterance`` (the mean of
        the embeddings of 1.6 s windows at 50 % overlap, normalised).
        """
        audio = judge_input(samples, sample_rate, ENCODER_SAMPLE_RATE)
        wav = self._preprocess(audio)
        if len(wav) < _MIN_TRIMMED:  # the voice-activity detector found (almost) no speech
            wav = audio
        embedding = np.asarray(self._encoder.embed_utterance(wav), dtype=np.float64)
        norm = np.linalg.norm(embedding)
        if not (np.isfinite(norm) and norm > 0):  # silence: the encoder divides 0 by 0
            raise ValueError("no speaker embedding for this audio (silent or degenerate)")
        return embedding / norm
