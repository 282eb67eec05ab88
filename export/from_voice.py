"""A voice directory -> trainable torch modules again (the way back from
:mod:`flowaudio.export.voice`).

A voice carries everything needed to rebuild its torch modules: voice.json records the model
configs (``provenance.acoustic.config``, ``provenance.vocoder.config``), the audio and text
configs, the symbol table, the speakers, the mel statistics and the null speaker vector; the
ONNX graphs carry every weight. Fine-tuning (``flowaudio finetune --from``) and distillation
(``flowaudio distill``) start from these modules, so the embedded default voice is trainable
with nothing outside the package and no extra file in it.

Why rebuild from the graphs rather than ship a second copy of the weights (safetensors): the
graphs already hold every weight, so a copy would double the voice's size (27.5 MB -> ~55 MB)
for no information, and the two copies could drift apart. The cost is a mapping from graph
initializers to ``state_dict`` keys, which is checked strictly (every key found exactly once,
every shape equal) and proven by a test that the rebuilt modules reproduce the voice's ONNX
outputs within export tolerance.

How graph tensors map back to ``state_dict`` keys (TorchScript exporter, opset 17):

- named initializers keep the module path under the wrapper's attribute: ``model.encoder...``
  in encoder.onnx / velocity.onnx, ``vocoder.blocks...`` in vocoder.onnx;
- a ``float16`` voice stores large weights as ``NAME__fp16`` plus a ``Cast`` back to NAME;
- ``nn.Linear`` weights that the exporter feeds to a ``MatMul`` are stored transposed under an
  anonymous name (``onnx::MatMul_870``); the node's scope name (``/encoder/layers.0/attn/qkv/
  MatMul``) names the module, so ``encoder.layers.0.attn.qkv.weight`` is that tensor transposed;
- ``mel_mean``, ``mel_std`` and the null speaker vector come from voice.json.

- an ``int8`` voice (``flowaudio export --int8``, the default voice) stores quantized MatMul
  weights as ``NAME_quantized`` with a per-column ``NAME_scale`` and ``NAME_zero_point``: they
  come back dequantized, so the rebuilt model is the int8 voice's (7-bit weights), not the
  float model it was exported from; onnxruntime's quantizer stores a Gemm's weight transposed as
  ``NAME_Transposed``; a convolution the export rewrote as a MatMul (its int8 form, see
  :func:`flowaudio.export.optimize.conv1d_as_matmul`) holds ``W2[j C_in + c, o] = W[o, c, j]``
  under ``SCOPE/Conv__cl_weight``, k the number of its im2col ``SCOPE/Conv__cl_slice{j}`` nodes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from flowaudio.audio.config import AudioConfig
from flowaudio.config import ConfigError, from_dict
from flowaudio.models.config import TTSConfig, VocoderConfig
from flowaudio.models.tts import FlowTTS
from flowaudio.models.vocoder import Vocoder
from flowaudio.runtime import contract as C
from flowaudio.runtime.contract import VoiceFormatError, VoiceMeta

__all__ = [
    "Teacher",
    "VoiceModels",
    "load_teacher",
    "load_voice_models",
    "resolve_voice_dir",
    "source_name",
]

logger = logging.getLogger(__name__)

_ACOUSTIC_PREFIX = "model."
_VOCODER_PREFIX = "vocoder."


@dataclass(frozen=True)
class VoiceModels:
    """The torch modules of a voice (eval mode, float32, CPU)."""

    meta: VoiceMeta
    acoustic: FlowTTS
    vocoder: Vocoder | None
    """None for a Griffin-Lim voice."""
    voice_dir: Path

    def acoustic_metadata(self) -> dict[str, Any]:
        """The checkpoint metadata an acoustic run of this voice carries (see
        :meth:`flowaudio.train.acoustic.AcousticTask.metadata`)."""
        meta = self.meta
        return {
            "symbols": dict(meta.symbols),
            "speakers": list(meta.speakers),
            "audio": dict(meta.audio),
            "text": dict(meta.text),
            "mel_mean": float(meta.mel_mean),
            "mel_std": float(meta.mel_std),
            "corpus": None,
            "n_parameters": self.acoustic.count_parameters(),
        }


def resolve_voice_dir(voice: str | Path) -> Path:
    """``"default"`` -> the voice inside the package; anything else is a directory path."""
    if str(voice) == "default":
        from flowaudio.runtime.synthesizer import default_voice_dir

        found = default_voice_dir()
        if found is None:
            raise FileNotFoundError("this flowaudio installation has no embedded default voice")
        return found
    path = Path(voice)
    if not (path / C.VOICE_JSON).is_file():
        raise FileNotFoundError(
            f"{path} is not a voice directory (no {C.VOICE_JSON}); pass a directory written by "
            "`flowaudio export`, or 'default'"
        )
    return path


def _graph_tensors(path: Path, prefix: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(named, scoped) float32 tensors of one graph.

    ``named``: initializers and constants whose name starts with ``prefix`` (prefix removed),
    with float16 copies cast back. ``scoped``: the right-hand weights of MatMul nodes under
    anonymous names, keyed by the module path of the node's scope, transposed to
    ``nn.Linear``'s (out, in) layout, or back to a ``Conv1d``'s (out, in, k) for a convolution
    the int8 export rewrote as a MatMul. int8 weights come back dequantized (see
    :func:`_dequantized`).
    """
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError, OSError, ...: all mean "not a graph"
        raise VoiceFormatError(f"{path}: not a readable ONNX graph ({exc}); re-export it") from exc
    graph = proto.graph
    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    for node in graph.node:
        if node.op_type == "Cast" and node.input[0] in values and node.input[0].endswith("__fp16"):
            values[node.output[0]] = values[node.input[0]].astype(np.float32)
    values.update(_dequantized(graph, values, path))
    named = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
    # onnxruntime's int8 quantizer rewrites a Gemm as a MatMul on NAME_Transposed (in, out)
    for key in [k for k in named if k.endswith(_TRANSPOSED)]:
        named[key[: -len(_TRANSPOSED)]] = named.pop(key).T
    scoped: dict[str, np.ndarray] = {}
    for node in graph.node:
        if node.op_type == "MatMul" and len(node.input) == 2:
            weight = node.input[1]
        elif node.op_type == "MatMulInteger":
            weight = node.input[1].removesuffix(_QUANTIZED)
        else:
            continue
        if weight not in values or weight.startswith(prefix) or values[weight].ndim != 2:
            continue
        scope = _module_path(node.name)
        scope = scope[len(prefix) :] if scope.startswith(prefix) else scope
        if weight.endswith(_CONV_MATRIX):  # optimize.conv1d_as_matmul: W2[j C_in + c, o]
            stem = weight.removesuffix("_weight")  # SCOPE/Conv__cl; its im2col slices:
            k = max(1, sum(1 for n in graph.node if n.name.startswith(f"{stem}_slice")))
            matrix = values[weight]
            c_in, c_out = matrix.shape[0] // k, matrix.shape[1]
            scoped[f"{scope}.weight"] = matrix.reshape(k, c_in, c_out).transpose(2, 1, 0)
        else:
            scoped[f"{scope}.weight"] = values[weight].T
    return named, scoped


def _module_path(node_name: str) -> str:
    """``/decoder/down.0/ffn/ffn.0/Conv__cl_matmul`` -> ``decoder.down.0.ffn.0``: the scope
    without the op, a child of an ``nn.Sequential`` named by its full name after its parent's
    (``ffn``, then ``ffn.0``)."""
    path: list[str] = []
    for part in node_name.strip("/").split("/")[:-1]:
        if path and part.startswith(path[-1] + "."):
            path[-1] = part
        else:
            path.append(part)
    return ".".join(path)


_QUANTIZED = "_quantized"
_TRANSPOSED = "_Transposed"
_CONV_MATRIX = "__cl_weight"


def _dequantized(
    graph: onnx.GraphProto, values: Mapping[str, np.ndarray], path: Path
) -> dict[str, np.ndarray]:
    """The float32 weights of an int8 graph's MatMulInteger nodes, by their names before
    quantization: ``W = (q - zero_point) * scale`` per output column, from onnxruntime's
    ``NAME_quantized`` / ``NAME_zero_point`` / ``NAME_scale`` initializers. These are the
    weights the int8 voice computes with (7-bit, per channel), not the float ones it was
    exported from: a model rebuilt from an int8 voice reproduces that voice."""
    out = {}
    for node in graph.node:
        if node.op_type != "MatMulInteger" or not node.input[1].endswith(_QUANTIZED):
            continue
        base = node.input[1].removesuffix(_QUANTIZED)
        parts = [values.get(base + suffix) for suffix in (_QUANTIZED, "_zero_point", "_scale")]
        if any(part is None for part in parts):
            raise VoiceFormatError(
                f"{path}: int8 weight {base!r} lacks its zero point or scale; re-export the voice"
            )
        q, zero, scale = parts
        out[base] = ((q.astype(np.float32) - zero.astype(np.float32)) * scale).astype(np.float32)
    if out:
        logger.info(
            "%s: %d int8 weights dequantized (the model starts from the int8 voice's weights)",
            path.name,
            len(out),
        )
    return out


def _fill(module: nn.Module, found: Mapping[str, np.ndarray], skip: set[str], where: str) -> None:
    """Copy ``found`` into ``module``'s state dict; every other key must be in ``skip``."""
    state = module.state_dict()
    missing, wrong = [], []
    for key, current in state.items():
        if key in skip:
            continue
        value = found.get(key)
        if value is None:
            missing.append(key)
        elif tuple(value.shape) != tuple(current.shape):
            wrong.append(f"{key} {tuple(value.shape)} vs {tuple(current.shape)}")
        else:
            state[key] = torch.from_numpy(np.array(value, dtype=np.float32))
    if missing or wrong:
        raise VoiceFormatError(
            f"{where}: the graphs do not hold the weights of the model voice.json describes "
            f"(missing {missing[:5]}{'...' if len(missing) > 5 else ''}, shape mismatches "
            f"{wrong[:5]}); re-export the voice with this flowaudio"
        )
    module.load_state_dict(state)


def _config(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, Mapping):
        raise VoiceFormatError(
            f"{where} is missing from voice.json: this voice does not record its model config, "
            "so it cannot be rebuilt for training; re-export it with `flowaudio export`"
        )
    try:
        return from_dict(cls, data, where=where)
    except (ConfigError, TypeError, ValueError) as exc:
        raise VoiceFormatError(f"voice.json {where}: {exc}") from exc


def load_voice_models(voice: str | Path) -> VoiceModels:
    """Rebuild the torch acoustic model (and vocoder) of a voice directory or ``"default"``.

    Raises:
        FileNotFoundError: no such voice.
        VoiceFormatError: voice.json lacks the model configs, or the graphs do not hold the
            weights they describe.
    """
    voice_dir = resolve_voice_dir(voice)
    meta = VoiceMeta.load(voice_dir)
    provenance = meta.provenance or {}
    acoustic_info = provenance.get("acoustic") or {}
    tts_config = _config(TTSConfig, acoustic_info.get("config"), "provenance.acoustic.config")
    acoustic = FlowTTS(tts_config, n_vocab=len(meta.symbols["symbols"]))
    found: dict[str, np.ndarray] = {}
    for graph in (C.ENCODER_ONNX, C.VELOCITY_ONNX):
        named, scoped = _graph_tensors(voice_dir / graph, _ACOUSTIC_PREFIX)
        found.update(named)
        found.update(scoped)
    found["speaker.null"] = np.asarray(meta.null_speaker_cond, dtype=np.float32)
    _fill(acoustic, found, {"mel_mean", "mel_std"}, str(voice_dir))
    acoustic.set_normalization(meta.mel_mean, meta.mel_std)

    vocoder = None
    if meta.vocoder == "onnx":
        info = provenance.get("vocoder")
        voc_config = _config(
            VocoderConfig,
            info.get("config") if isinstance(info, Mapping) else None,
            "provenance.vocoder.config",
        )
        vocoder = Vocoder(voc_config, from_dict(AudioConfig, meta.audio, where="audio"))
        named, scoped = _graph_tensors(voice_dir / C.VOCODER_ONNX, _VOCODER_PREFIX)
        _fill(vocoder, {**named, **scoped}, set(), str(voice_dir / C.VOCODER_ONNX))
        vocoder = vocoder.float().eval()
    logger.info("rebuilt the torch modules of voice %s", voice_dir)
    return VoiceModels(
        meta=meta, acoustic=acoustic.float().eval(), vocoder=vocoder, voice_dir=voice_dir
    )


@dataclass(frozen=True)
class Teacher:
    """A trained acoustic model to start from: a run's latest checkpoint or a voice."""

    model: FlowTTS
    metadata: dict[str, Any]
    """Checkpoint-style metadata: symbols, speakers, audio, text, mel stats, corpus."""
    name: str
    """Where it came from, as recorded with what is built from it (no machine paths)."""


def source_name(source: str | Path) -> str:
    """How a voice or run is recorded in what is built from it: ``voice:NAME`` or
    ``run:NAME``, by folder name (no machine path)."""
    if str(source) == "default":
        return "voice:default"
    kind = "voice" if C.is_voice_source(source) else "run"
    return f"{kind}:{Path(source).resolve().name}"


def load_teacher(source: str | Path) -> Teacher:
    """``source``: a voice directory or ``"default"`` (rebuilt from the graphs), or an
    acoustic/distill run directory or checkpoint (its EMA weights)."""
    name = source_name(source)
    if C.is_voice_source(source):
        models = load_voice_models(source)
        step = (models.meta.provenance.get("acoustic") or {}).get("steps_trained")
        return Teacher(
            models.acoustic, models.acoustic_metadata(), name + (f"@{step}" if step else "")
        )
    from flowaudio.export.voice import load_acoustic

    run = load_acoustic(source)
    return Teacher(run.model, dict(run.metadata), f"{name}@{run.step}")
