"""Write one wrapper module as an ONNX graph: names, dynamic axes, metadata, weight format.

The TorchScript exporter (``torch.onnx.export(..., dynamo=False)``) at opset
:data:`flowaudio.runtime.contract.OPSET` is used for every graph: the wrappers are traced with
dynamic axes and match torch to ~1e-6, whereas the dynamo exporter at opset 17 writes graphs
that onnxruntime refuses.

A graph is stored in one of the :class:`Weights` formats:

- ``float32``: as traced.
- ``float16`` (:func:`weights_to_float16`) stores every large float32 weight as float16 followed
  by a ``Cast`` back to float32: the file is about half the size, inputs, outputs and
  arithmetic stay float32 (onnxruntime folds the casts into float32 weights when it loads the
  graph), so the graph runs on every execution provider and the only error is the rounding of
  the weights. A loaded float16 voice is *not* smaller in memory (measured: the velocity
  graph's session 41 MB of RSS vs 34 MB for float32).
- ``int8`` (:mod:`flowaudio.export.optimize`; only the graphs of
  :data:`flowaudio.export.optimize.INT8_GRAPHS`, the others stay float32): 1-D convolutions
  rewritten as MatMuls, then the MatMul weights stored as int8 with dynamically quantized
  activations (those a caller names, or finds sensitive, stay float32). Measured on the ``small``
  voice with 2 threads: a 4-step synthesis 0.64-0.8x the time of float32 (on a busy machine),
  velocity + vocoder files 39 -> 14 MB, peak RSS of a synthesis 170 -> 150 MB.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import Tensor, nn

from flowaudio.config import parse_choice
from flowaudio.export.optimize import conv1d_as_matmul, int8_sensitive, quantize_int8
from flowaudio.runtime.contract import OPSET

__all__ = ["FP16_MIN_ELEMENTS", "Weights", "export_graph", "set_metadata", "weights_to_float16"]


class Weights(str, Enum):
    """How an exported graph stores its weights (recorded in voice.json's provenance)."""

    FLOAT32 = "float32"
    FLOAT16 = "float16"
    INT8 = "int8"

    @classmethod
    def parse(cls, value: Weights | str) -> Weights:
        """``value`` as a :class:`Weights`; ValueError naming the choices otherwise."""
        return parse_choice(cls, value, "weight format")


FP16_MIN_ELEMENTS = 1024
"""Float32 weights with fewer elements stay float32 under ``--fp16``: they weigh nothing, and
norms, biases and scalar constants are where half precision would cost accuracy first."""

_FP16_MAX = float(np.finfo(np.float16).max)


def export_graph(
    module: nn.Module,
    example: Sequence[Tensor],
    path: str | Path,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]],
    metadata: Mapping[str, str] | None = None,
    weights: Weights | str = Weights.FLOAT32,
    int8_keep_sensitive: bool = False,
    int8_only: Sequence[str] = (),
) -> Path:
    """Trace ``module`` on ``example`` and write it to ``path`` as a checked ONNX model.

    Args:
        module: a wrapper module; it is put in eval mode (the exporter restores the mode it
            finds, and that reaches the wrapped model) and exported on CPU in float32.
        example: one tensor per input, in ``input_names`` order; every axis listed in
            ``dynamic_axes`` stays dynamic.
        path: the ``.onnx`` file to write; parent folders are created.
        input_names / output_names: graph I/O names (from the voice contract).
        dynamic_axes: ``{io name: {axis: symbolic name}}``.
        metadata: ``metadata_props`` to store (key -> string value).
        weights: the :class:`Weights` format of the stored graph (``int8``: see
            :func:`flowaudio.export.optimize.quantize_int8`; callers pass it only for the graphs in
            :data:`flowaudio.export.optimize.INT8_GRAPHS`).
        int8_keep_sensitive: with ``int8``, keep float32 the MatMuls that int8 hurts most,
            measured on ``example`` (:func:`flowaudio.export.optimize.int8_sensitive`); their
            names are stored in the graph's metadata (``flowaudio.int8_float``).
        int8_only: with ``int8``, name prefixes of the MatMuls int8 may reach (empty: all);
            the others stay float32 (see :data:`flowaudio.export.optimize.INT8_ONLY`).

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter announces its own deprecation on every call, and the tracer
        # flags shape checks that hold for every input the graph accepts.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            module,
            tuple(example),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes={k: dict(v) for k, v in dynamic_axes.items()},
            do_constant_folding=True,
        )
    weights = Weights.parse(weights)
    proto = onnx.load(str(path))
    if weights is Weights.FLOAT16:
        proto = weights_to_float16(proto)
    elif weights is Weights.INT8:
        # Convolutions become MatMuls first, so that quantization reaches them.
        proto = conv1d_as_matmul(proto)
        keep: list[str] = []
        if int8_only:
            # Gemm too: onnxruntime's dynamic quantizer first rewrites a Gemm as a MatMul
            # named NAME_MatMul, and matches the excluded names after that.
            keep = [
                n.name + ("_MatMul" if n.op_type == "Gemm" else "")
                for n in proto.graph.node
                if n.op_type in ("MatMul", "Gemm") and not n.name.startswith(tuple(int8_only))
            ]
        if int8_keep_sensitive:
            feeds = {n: t.detach().cpu().numpy() for n, t in zip(input_names, example, strict=True)}
            keep += [n for n in int8_sensitive(proto, [feeds]) if n not in keep]
        proto = quantize_int8(proto, keep)
        metadata = {**(metadata or {}), "flowaudio.int8_float": ",".join(keep)}
    if metadata:
        set_metadata(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))
    return path


def set_metadata(proto: onnx.ModelProto, metadata: Mapping[str, str]) -> None:
    """Set ``metadata_props`` keys of ``proto`` in place (existing keys are replaced)."""
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise TypeError(f"metadata value of {key!r} must be a string, got {type(value)}")
    kept = [(p.key, p.value) for p in proto.metadata_props if p.key not in metadata]
    del proto.metadata_props[:]
    for key, value in [*kept, *metadata.items()]:
        prop = proto.metadata_props.add()
        prop.key, prop.value = key, value


def weights_to_float16(
    proto: onnx.ModelProto, min_elements: int = FP16_MIN_ELEMENTS
) -> onnx.ModelProto:
    """Store float32 weights of ``min_elements`` or more as float16 (returns ``proto``).

    Weights are the graph's initializers and its ``Constant`` nodes (the exporter folds
    computed buffers, such as the vocoder's inverse-STFT bases, into constants). Each converted
    tensor ``w`` becomes a float16 initializer ``w__fp16`` and a ``Cast(to=FLOAT)`` node at the
    top of the graph recreates ``w``, so every consumer still reads float32 and the graph's
    inputs and outputs are unchanged. Weights outside the float16 range stay float32.
    """
    graph = proto.graph

    def half(values: np.ndarray, name: str) -> bool:
        if values.dtype != np.float32 or values.size < min_elements:
            return False
        if not np.isfinite(values).all() or float(np.abs(values).max()) > _FP16_MAX:
            return False
        converted.append(numpy_helper.from_array(values.astype(np.float16), f"{name}__fp16"))
        casts.append(
            helper.make_node(
                "Cast", [f"{name}__fp16"], [name], name=f"{name}__to_float32", to=TensorProto.FLOAT
            )
        )
        return True

    casts: list[onnx.NodeProto] = []
    converted: list[TensorProto] = []
    kept = [
        init
        for init in graph.initializer
        if init.data_type != TensorProto.FLOAT or not half(numpy_helper.to_array(init), init.name)
    ]
    nodes = [
        node
        for node in graph.node
        if not (
            node.op_type == "Constant"
            and len(node.attribute) == 1
            and node.attribute[0].name == "value"
            and node.attribute[0].t.data_type == TensorProto.FLOAT
            and half(numpy_helper.to_array(node.attribute[0].t), node.output[0])
        )
    ]
    del graph.initializer[:]
    graph.initializer.extend([*kept, *converted])
    del graph.node[:]
    graph.node.extend([*casts, *nodes])
    return proto
