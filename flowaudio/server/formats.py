"""Response audio formats: whole files through soundfile, and the two streamable ones.

``wav``  16-bit PCM WAV. Streamed, the header is written before the length is known, so its RIFF
         and data sizes hold the maximum (0xFFFFFFFF), as other streaming TTS servers do; readers
         (libsndfile, ffmpeg, browsers) then read to the end of the stream.
``pcm``  raw 16-bit little-endian mono samples; the rate is in the ``X-Sample-Rate`` header.
``flac``, ``mp3``, ``opus`` (Ogg)  through the libsndfile that the soundfile wheels bundle
         (no system packages), by :func:`flowaudio.audio.io.encode_audio`; a format this
         libsndfile lacks is left out of the list. Opus and MP3 take a few rates only, so other
         rates are resampled to the next one they take.
"""

from __future__ import annotations

import struct

import numpy as np

from flowaudio.audio.io import encode_audio, file_formats, pcm16_bytes

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

#: Formats this installation can write, in the order error messages list them: OpenAI's names
#: (wav, pcm, flac, mp3, opus) that :func:`flowaudio.audio.io.file_formats` has, plus raw pcm.
FORMATS: tuple[str, ...] = tuple(f for f in MEDIA_TYPES if f == "pcm" or f in file_formats())
#: Formats that can be sent as they are synthesized.
STREAM_FORMATS: tuple[str, ...] = ("wav", "pcm")

#: float32 samples in [-1, 1] (T,) -> 16-bit little-endian PCM bytes, converted by libsndfile
#: as a whole WAV is, so a streamed WAV holds exactly the samples of a whole one.
pcm16 = pcm16_bytes


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
    """A whole clip in one of :data:`FORMATS` (the audio module's encoders)."""
    if fmt not in FORMATS:
        raise ValueError(f"response format {fmt!r} is not available; choose one of {FORMATS}")
    if fmt == "pcm":
        return pcm16_bytes(samples)
    return encode_audio(samples, sample_rate, fmt)
