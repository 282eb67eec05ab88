"""Export a :class:`~flowaudio.models.vocoder.Vocoder` to one ONNX graph: log-mel in, audio out.

Graph contract (opset 17, dynamic batch and frame axes)::

    input  "mel"    float32 (B, n_mels, T)   the project's log-mel (flowaudio.audio.mel)
    output "audio"  float32 (B, T * hop)     waveform in [-1, 1] at the audio sample rate

The graph describes itself through ``metadata_props``: ``flowaudio.graph = "vocoder"``, the
sample rate, hop and mel count as decimal strings, and the full audio and vocoder configs as
JSON, so a runtime can check that the acoustic model's features match before it runs anything.

The TorchScript exporter (``dynamo=False``) is used: the vocoder is a static graph without
data-dependent shapes, and this path exports it with a dynamic T in a second without onnxscript
rewriting. The ISTFT is a ConvTranspose (see :mod:`flowaudio.models.istft`), since ONNX has no
inverse STFT.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import onnx
import torch
from torch import Tensor, nn

from flowaudio.config import to_dict
from flowaudio.models.vocoder import Vocoder
from flowaudio.version import __version__

__all__ = [
    "VOCODER_INPUT",
    "VOCODER_OUTPUT",
    "VocoderGraph",
    "VocoderSpectrumGraph",
    "export_vocoder_onnx",
    "vocoder_metadata",
]

VOCODER_INPUT = "mel"
VOCODER_OUTPUT = "audio"
OPSET = 17


class VocoderGraph(nn.Module):
    """The exported computation: ``audio = vocoder(mel)``, nothing else."""

    def __init__(self, vocoder: Vocoder) -> None:
        super().__init__()
        self.vocoder = vocoder

    def forward(self, mel: Tensor) -> Tensor:
        """(B, n_mels, T) log-mel -> (B, T * hop) audio."""
        return self.vocoder(mel)


class VocoderSpectrumGraph(nn.Module):
    """The vocoder without its ISTFT: ``spectrum = stack(vocoder.spectrum(mel))``.

    The graph of a voice exported with ``--vocoder-istft host`` (voice.json
    ``vocoder_output: "spectrum"``): the host inverts the spectrum with
    :func:`flowaudio.audio.istft.spectrum_to_audio`, which also does the clip.
    """

    def __init__(self, vocoder: Vocoder) -> None:
        super().__init__()
        self.vocoder = vocoder

    def forward(self, mel: Tensor) -> Tensor:
        """(B, n_mels, T) log-mel -> (B, 2, F, T) real and imaginary parts, F = n_fft // 2 + 1."""
        real, imag = self.vocoder.spectrum(mel)
        return torch.stack([real, imag], dim=1)


def vocoder_metadata(model: Vocoder) -> dict[str, str]:
    """The vocoder graph's own ``metadata_props``: graph kind, version, audio and model configs."""
    return {
        "flowaudio.graph": "vocoder",
        "flowaudio.version": __version__,
        "sample_rate": str(model.audio.sample_rate),
        "hop_length": str(model.audio.hop_length),
        "n_mels": str(model.audio.n_mels),
        "audio_config": json.dumps(to_dict(model.audio), sort_keys=True),
        "vocoder_config": json.dumps(to_dict(model.config), sort_keys=True),
    }


def export_vocoder_onnx(model: Vocoder, path: str | Path, example_frames: int = 64) -> Path:
    """Write ``model`` as an ONNX graph with metadata to ``path`` and return the path.

    Args:
        model: the vocoder; exported in eval mode on CPU in float32 (the caller's module is
            not modified).
        path: the ``.onnx`` file to write; parent folders are created.
        example_frames: T of the tracing example; any T works at run time.

    Raises:
        ValueError: ``example_frames`` is below 2.
    """
    if example_frames < 2:
        raise ValueError(f"example_frames must be >= 2, got {example_frames}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vocoder = Vocoder(model.config, model.audio)
    vocoder.load_state_dict(model.state_dict())
    graph = VocoderGraph(vocoder).eval().float().cpu()
    mel = torch.zeros(1, model.audio.n_mels, example_frames)
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter announces its own deprecation on every call, and the tracer
        # flags the input-shape checks, which hold for every input the graph accepts anyway.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            graph,
            (mel,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[VOCODER_INPUT],
            output_names=[VOCODER_OUTPUT],
            dynamic_axes={
                VOCODER_INPUT: {0: "batch", 2: "frames"},
                VOCODER_OUTPUT: {0: "batch", 1: "samples"},
            },
        )
    proto = onnx.load(str(path))
    for key, value in vocoder_metadata(model).items():
        prop = proto.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path
