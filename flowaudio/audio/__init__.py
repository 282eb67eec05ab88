"""Audio: file I/O and resampling, the numpy reference log-mel spectrogram, output levels, and
the feature parameters (:mod:`.config`: ``AudioConfig``, ``AUDIO_PRESETS``).

Importing this package never imports torch. The differentiable training twin of the
spectrogram lives in :mod:`flowaudio.audio.mel_torch` and is imported explicitly.
"""

from flowaudio.audio.io import (
    AudioError,
    WavSubtype,
    load_audio,
    peak_normalize,
    resample,
    save_wav,
    wav_bytes,
)
from flowaudio.audio.mel import (
    hann_window,
    log_mel_spectrogram,
    mel_filterbank,
    min_num_samples,
    num_frames,
    stft_magnitude,
)

__all__ = [
    "AudioError",
    "WavSubtype",
    "hann_window",
    "load_audio",
    "log_mel_spectrogram",
    "mel_filterbank",
    "min_num_samples",
    "num_frames",
    "peak_normalize",
    "resample",
    "save_wav",
    "stft_magnitude",
    "wav_bytes",
]
