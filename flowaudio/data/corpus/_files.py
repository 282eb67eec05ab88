"""Files of a corpus build: hidden temporary siblings, atomic text writes, audio frame counts."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import soundfile as sf


def temp_sibling(path: Path, suffix: str) -> Path:
    """A unique hidden name next to ``path``: same filesystem, so os.replace is atomic."""
    return path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part{suffix}")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary sibling and os.replace."""
    tmp = temp_sibling(path, path.suffix)
    try:
        with open(tmp, "x", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def audio_frames(path: Path) -> int:
    """Frames in a readable audio file, 0 when it is missing, empty or unreadable."""
    try:
        return int(sf.info(str(path)).frames)
    except (RuntimeError, OSError, ValueError):  # LibsndfileError is a RuntimeError
        return 0
