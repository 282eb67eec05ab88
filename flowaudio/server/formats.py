"""Response audio formats: whole files through soundfile, and the two streamable ones.

``wav``  16-bit PCM WAV. Streamed, the header is written before the length is known, so its RIFF
         and data sizes hold the maximum (0xFFFFFFFF), as other streaming TTS servers do; readers
         (libsndfile, ffmpeg, browsers) then read to the end of the stream.
``pcm``  raw 16-bit little-endian mono samples; the rate is in the ``X-Sample-Rate`` header.
``flac``, ``mp3``, ``opus`` (Ogg)  through the libsndfile that the soundfile wheels bundle
         (no system packages); a format this libsndfile lacks is left out of the list. Opus
         takes 8/12/16/24/48 kHz only, so other rates are resampled to 48 kHz for it.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import soundfile as sf

from flowaudio.audio.io import resample, wav_bytes

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "STREAM_FORMATS",
    "encode",
    "pcm16",
    "streaming_wav_header",
]

MEDIA_TYPES = {
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
}
# format -> (libsndfile container, subtype)
_SOUNDFILE = {
    "flac": ("FLAC", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "opus": ("OGG", "OPUS"),
}
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def _available() -> tuple[str, ...]:
    have = sf.available_formats()
    out = ["wav", "pcm"]
    for name, (container, subtype) in _SOUNDFILE.items():
        if container in have and subtype in sf.available_subtypes(container):
            out.append(name)
    return tuple(out)


#: Formats this installation can write, in the order error messages list them.
FORMATS: tuple[str, ...] = _available()
#: Formats that can be sent as they are synthesized.
STREAM_FORMATS: tuple[str, ...] = ("wav", "pcm")


def pcm16(samples: np.ndarray) -> bytes:
    """float32 samples in [-1, 1] (T,) -> 16-bit little-endian PCM bytes.

    Converted by libsndfile, as :func:`flowaudio.audio.io.wav_bytes` does, so a streamed WAV
    holds exactly the samples of a whole one.
    """
    data = np.clip(np.nan_to_num(np.asarray(samples, dtype=np.float32)), -1.0, 1.0)
    buf = io.BytesIO()
    # RAW has no header; the rate argument is required but not stored.
    sf.write(buf, data, 8000, format="RAW", subtype="PCM_16", endian="LITTLE")
    return buf.getvalue()


def streaming_wav_header(sample_rate: int) -> bytes:
    """A 44-byte mono 16-bit WAV header whose sizes are unknown (set to the maximum)."""
    unknown = 0xFFFFFFFF
    return b"".join(
        [
            b"RIFF",
            struct.pack("<I", unknown),
            b"WAVE",
            b"fmt ",
            struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16),
            b"data",
            struct.pack("<I", unknown),
        ]
    )


def encode(samples: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """A whole clip in one of :data:`FORMATS`."""
    if fmt == "wav":
        return wav_bytes(samples, sample_rate)
    if fmt == "pcm":
        return pcm16(samples)
    if fmt not in FORMATS:
        raise ValueError(f"response format {fmt!r} is not available; choose one of {FORMATS}")
    container, subtype = _SOUNDFILE[fmt]
    rates = _OPUS_RATES if fmt == "opus" else _MP3_RATES if fmt == "mp3" else None
    if rates is not None and sample_rate not in rates:
        samples, sample_rate = resample(samples, sample_rate, 48000), 48000
    buf = io.BytesIO()
    data = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    sf.write(buf, data, sample_rate, format=container, subtype=subtype)
    return buf.getvalue()
