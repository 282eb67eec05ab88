"""The models: the acoustic model (text encoder, duration predictor, monotonic alignment, flow
decoder) and the Vocos-style vocoder.

:class:`FlowTTS` composes them (Matcha-TTS design: RoPE transformer encoder, durations learned
through monotonic alignment search and a prior loss, a 1D U-Net velocity network trained with
OT conditional flow matching) and trains on a :class:`TTSBatch` (:mod:`.batch`). Configuration
lives in :mod:`.config` (frozen dataclasses, ``TTS_PRESETS``, ``VocoderConfig`` and
``VOCODER_PRESETS``); :mod:`.lora` holds the adapters of fine-tuning. Everything here may import
torch; nothing here imports ``flowaudio.train``, ``flowaudio.data`` or the export tooling (a test
reads the imports), and the training-only parts (discriminators, GAN losses) live in
``flowaudio.train``.

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
