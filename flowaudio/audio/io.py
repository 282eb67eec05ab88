"""Reading, writing and resampling waveforms (numpy + soundfile + soxr; no torch).

Every waveform in flowaudio is a float32 numpy array of shape (T,) with samples in [-1, 1].
:func:`load_audio` is the single way audio enters the project: whatever goes wrong with a file
(missing, not audio, truncated, empty, NaN) surfaces as one exception type, :class:`AudioError`,
so corpus tools can report and skip a bad clip instead of crashing on it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

# soundfile and soxr are imported where they are used: the runtime imports this module for
# Audio.save, and loading libsndfile and libsoxr up front cost every ``import flowaudio`` user
# ~6 MB of RSS and ~40 ms whether or not a file is ever written.

__all__ = [
    "AudioError",
    "WavSubtype",
    "encode_audio",
    "file_format",
    "file_formats",
    "load_audio",
    "pcm16_bytes",
    "peak_normalize",
    "resample",
    "save_audio",
    "save_wav",
    "wav_bytes",
]

WavSubtype = Literal["PCM_16", "FLOAT"]
_SUBTYPES: tuple[str, ...] = ("PCM_16", "FLOAT")


#: Compressed formats by file suffix: libsndfile container, subtype, and the sample rates the
#: codec takes (None: any). Vorbis and Opus travel in an Ogg container; Opus and MP3 accept a
#: few rates only, so other rates are resampled up to the next one they take.
_COMPRESSED: dict[str, tuple[str, str, tuple[int, ...] | None]] = {
    "flac": ("FLAC", "PCM_16", None),
    "ogg": ("OGG", "VORBIS", None),
    "opus": ("OGG", "OPUS", (8000, 12000, 16000, 24000, 48000)),
    "mp3": (
        "MP3",
        "MPEG_LAYER_III",
        (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
    ),
}


class AudioError(ValueError):
    """An audio file cannot be used: unreadable, not audio, corrupt, empty or non-finite."""


def load_audio(path: str | os.PathLike[str], sample_rate: int | None = None) -> np.ndarray:
    """Read any format libsndfile understands as a float32 mono waveform.

    Args:
        path: the audio file (WAV, FLAC, OGG, ...).
        sample_rate: resample to this rate (soxr, "HQ") when it differs from the file's;
            ``None`` keeps the file's rate.

    Returns:
        float32 samples of shape (T,); multi-channel files are mixed down to the channel mean.

    Raises:
        AudioError: the file is missing, not audio, corrupt, has no samples, or holds NaN/inf.
        ValueError: ``sample_rate`` is not positive.
    """
    if sample_rate is not None and sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive number of Hz or None, got {sample_rate}")
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not an audio file" if path.is_dir() else "file not found"
        raise AudioError(f"cannot read audio {path}: {what}")
    import soundfile as sf

    try:
        data, file_sr = sf.read(path, dtype="float32", always_2d=True)
    except Exception as exc:
        # libsndfile reports bad input through several types (LibsndfileError, RuntimeError,
        # TypeError for odd headers, OSError, ...); callers get one type to catch per clip.
        raise AudioError(f"cannot read audio {path}: {exc}") from exc
    # data: (T, C)
    if data.shape[0] == 0:
        raise AudioError(f"cannot use audio {path}: the file contains no samples")
    n_bad = int(np.count_nonzero(~np.isfinite(data)))
    if n_bad:
        raise AudioError(
            f"cannot use audio {path}: {n_bad} of {data.size} samples are NaN or infinite"
        )
    mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    if sample_rate is not None and sample_rate != file_sr:
        mono = resample(mono, int(file_sr), sample_rate)
    return np.ascontiguousarray(mono, dtype=np.float32)


def resample(samples: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample a waveform with soxr ("HQ" quality).

    Args:
        samples: (T,) waveform (a (T, C) array is resampled per channel).
        orig_sr: its sample rate in Hz.
        target_sr: the wanted sample rate in Hz.

    Returns:
        float32 array of about ``T * target_sr / orig_sr`` samples; a float32 copy of the input
        when the rates are equal (the result never aliases ``samples``).
    """
    if orig_sr <= 0 or target_sr <= 0:
        raise ValueError(
            f"sample rates must be positive, got orig_sr={orig_sr}, target_sr={target_sr}"
        )
    samples = np.asarray(samples)
    if orig_sr == target_sr:
        return samples.astype(np.float32)
    import soxr

    out = soxr.resample(
        np.ascontiguousarray(samples, dtype=np.float32), orig_sr, target_sr, quality="HQ"
    )
    return np.asarray(out, dtype=np.float32)


def file_formats() -> tuple[str, ...]:
    """The file suffixes (without the dot) :func:`save_audio` can write with the installed
    libsndfile: always ``wav``, then those of flac, ogg (Vorbis), opus and mp3 it supports."""
    import soundfile as sf

    have = sf.available_formats()
    writable = [
        name
        for name, (container, subtype, _) in _COMPRESSED.items()
        if container in have and subtype in sf.available_subtypes(container)
    ]
    return ("wav", *writable)


def file_format(path: str | os.PathLike[str]) -> str:
    """The format :func:`save_audio` writes ``path`` in, from its suffix (no suffix: wav).

    Raises:
        ValueError: a suffix this installation cannot write; the message lists those it can.
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if not suffix:
        return "wav"
    formats = file_formats()
    if suffix not in formats:
        known = suffix in _COMPRESSED
        why = "the installed libsndfile cannot write it" if known else "unknown audio format"
        raise ValueError(
            f"cannot write {os.fspath(path)!r}: .{suffix} ({why}); use one of "
            + ", ".join(f".{f}" for f in formats)
        )
    return suffix


def encode_audio(
    samples: np.ndarray, sample_rate: int, fmt: str, subtype: WavSubtype = "PCM_16"
) -> bytes:
    """A mono waveform as the bytes of a ``fmt`` file (a :func:`file_formats` name); ``subtype``
    applies to wav. Opus and MP3 get the waveform resampled to a rate they take."""
    buf = io.BytesIO()
    _write(buf, samples, sample_rate, fmt, subtype)
    return buf.getvalue()


def save_audio(
    path: str | os.PathLike[str],
    samples: np.ndarray,
    sample_rate: int,
    subtype: WavSubtype = "PCM_16",
) -> None:
    """Write a mono audio file atomically (like :func:`save_wav`) in the format its suffix
    names: wav (or no suffix), flac, ogg (Vorbis), opus or mp3 (see :func:`file_format`);
    ``subtype`` applies to wav."""
    fmt = file_format(path)
    _atomic_write(Path(path), lambda f: _write(f, samples, sample_rate, fmt, subtype))


def _write(f: BinaryIO, samples: np.ndarray, sample_rate: int, fmt: str, subtype: str) -> None:
    import soundfile as sf

    if fmt == "wav":
        data = _prepare_for_write(samples, sample_rate, subtype)
        sf.write(f, data, sample_rate, subtype=subtype, format="WAV")
        return
    if fmt not in _COMPRESSED:
        raise ValueError(f"unknown audio format {fmt!r}; use one of {file_formats()}")
    container, codec, rates = _COMPRESSED[fmt]
    data = _prepare_for_write(samples, sample_rate, "PCM_16")  # clipped: every codec is fixed-scale
    if rates is not None and sample_rate not in rates:
        target = min((r for r in rates if r > sample_rate), default=rates[-1])
        data = np.clip(resample(data, sample_rate, target), -1.0, 1.0)
        sample_rate = target
    sf.write(f, data, sample_rate, subtype=codec, format=container)


def _atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Run ``write(file)`` on a hidden temporary file next to ``path``, flush it to disk and
    move it onto ``path`` in one ``os.replace``: a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
    # os.open with 0o666 lets the umask decide permissions, as a plain open() would
    # (tempfile.mkstemp would make every saved file private to its owner).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_wav(
    path: str | os.PathLike[str],
    samples: np.ndarray,
    sample_rate: int,
    subtype: WavSubtype = "PCM_16",
) -> None:
    """Write a mono WAV file atomically, creating parent directories.

    The data goes to a hidden temporary file in the target directory, is flushed to disk, and
    then replaces ``path`` in one ``os.replace``: a crash leaves either the old file or the new
    one, never half a WAV that a later :func:`load_audio` would trip over.

    Args:
        path: destination file; its suffix is not interpreted (the format is always WAV).
        samples: (T,) finite waveform, nominally in [-1, 1].
        sample_rate: in Hz.
        subtype: ``"PCM_16"`` (values are clipped to [-1, 1] first) or ``"FLOAT"`` (32-bit,
            lossless for float32 input).
    """
    import soundfile as sf

    data = _prepare_for_write(samples, sample_rate, subtype)
    _atomic_write(
        Path(path), lambda f: sf.write(f, data, sample_rate, subtype=subtype, format="WAV")
    )


def wav_bytes(samples: np.ndarray, sample_rate: int, subtype: WavSubtype = "PCM_16") -> bytes:
    """Encode a mono waveform as an in-memory WAV file (same rules as :func:`save_wav`)."""
    import soundfile as sf

    data = _prepare_for_write(samples, sample_rate, subtype)
    buf = io.BytesIO()
    sf.write(buf, data, sample_rate, subtype=subtype, format="WAV")
    return buf.getvalue()


def pcm16_bytes(samples: np.ndarray) -> bytes:
    """A mono waveform as headerless 16-bit little-endian PCM: the samples of
    :func:`wav_bytes` without its header (converted by libsndfile alike, clipped to [-1, 1])."""
    import soundfile as sf

    if np.asarray(samples).size == 0:
        return b""
    data = _prepare_for_write(samples, 8000, "PCM_16")
    buf = io.BytesIO()
    # RAW has no header: the rate argument is required but not stored.
    sf.write(buf, data, 8000, format="RAW", subtype="PCM_16", endian="LITTLE")
    return buf.getvalue()


def peak_normalize(samples: np.ndarray, peak: float = 0.95) -> np.ndarray:
    """Scale a waveform so that ``max(|x|) == peak``.

    Args:
        samples: finite waveform of any shape, e.g. (T,).
        peak: target peak in (0, 1].

    Returns:
        float32 array of the same shape. Silence (all zeros) and empty input come back
        unchanged, since there is no gain that would reach the peak.
    """
    if not 0.0 < peak <= 1.0:
        raise ValueError(f"peak must be in (0, 1], got {peak}")
    x = np.asarray(samples, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError(
            "peak_normalize got NaN or infinite samples; clean the waveform first "
            "(load_audio rejects such files)"
        )
    current = float(np.max(np.abs(x))) if x.size else 0.0
    if current == 0.0:
        return x.astype(np.float32)
    return (x * (peak / current)).astype(np.float32)


def _prepare_for_write(samples: np.ndarray, sample_rate: int, subtype: str) -> np.ndarray:
    """Validate a waveform for WAV encoding and return it as float32 (T,)."""
    if subtype not in _SUBTYPES:
        raise ValueError(f"subtype must be one of {_SUBTYPES}, got {subtype!r}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise ValueError(f"sample_rate must be an integer number of Hz, got {sample_rate!r}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    data = np.asarray(samples)
    if data.ndim != 1:
        raise ValueError(
            f"expected a mono waveform of shape (T,), got shape {data.shape}; "
            "mix channels down first (e.g. samples.mean(axis=-1))"
        )
    if data.size == 0:
        raise ValueError("cannot write an empty waveform (0 samples)")
    if not np.issubdtype(data.dtype, np.floating):
        # int16 PCM passed as-is would be clipped to full scale; make the scaling explicit.
        raise ValueError(
            f"expected float samples in [-1, 1], got dtype {data.dtype}; "
            "convert integer PCM first (e.g. samples / 32768.0 for int16)"
        )
    data = data.astype(np.float32)
    n_bad = int(np.count_nonzero(~np.isfinite(data)))
    if n_bad:
        raise ValueError(
            f"waveform has {n_bad} NaN or infinite samples of {data.size}; "
            "fix the upstream computation before saving"
        )
    if subtype == "PCM_16":
        # Clip explicitly: libsndfile's float->int conversion would otherwise wrap or clip
        # depending on its settings, and a wrapped sample is a loud click.
        np.clip(data, -1.0, 1.0, out=data)
    return data
