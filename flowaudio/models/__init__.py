"""The acoustic model: text encoder, duration predictor, monotonic alignment, flow decoder.

:class:`FlowTTS` composes them (Matcha-TTS design: RoPE transformer encoder, durations learned
through monotonic alignment search and a prior loss, a 1D U-Net velocity network trained with
OT conditional flow matching). Configuration lives in :mod:`.config` (frozen dataclasses and
``TTS_PRESETS``). Everything here may import torch; nothing here imports ``flowaudio.train``.

Shapes: B batch, L tokens, T mel frames, C channels; sequences are (B, C, T) with float masks
(B, 1, T). Every forward path that is exported (encoder, decoder) works for any length.
"""

from .alignment import durations_from_path, expand, maximum_path, path_from_durations
from .batch import TTSBatch
from .config import (
    TTS_PRESETS,
    DecoderConfig,
    DurationConfig,
    EncoderConfig,
    SpeakerConfig,
    TTSConfig,
)
from .decoder import VelocityUNet
from .duration import DurationPredictor
from .encoder import TextEncoder
from .layers import (
    ChannelLayerNorm,
    ConvFeedForward,
    MultiHeadAttention,
    RotaryEmbedding,
    SinusoidalTimeEmbedding,
    sequence_mask,
)
from .tts import EncoderOutput, FlowTTS, SpeakerConditioner, SynthesisOutput, TTSLoss

__all__ = [
    "TTS_PRESETS",
    "ChannelLayerNorm",
    "ConvFeedForward",
    "DecoderConfig",
    "DurationConfig",
    "DurationPredictor",
    "EncoderConfig",
    "EncoderOutput",
    "FlowTTS",
    "MultiHeadAttention",
    "RotaryEmbedding",
    "SinusoidalTimeEmbedding",
    "SpeakerConditioner",
    "SpeakerConfig",
    "SynthesisOutput",
    "TTSBatch",
    "TTSConfig",
    "TTSLoss",
    "TextEncoder",
    "VelocityUNet",
    "durations_from_path",
    "expand",
    "maximum_path",
    "path_from_durations",
    "sequence_mask",
]
