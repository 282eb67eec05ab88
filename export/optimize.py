"""Graph rewrites for int8 voices: 1-D convolutions as MatMuls, then int8 MatMul weights.

Both passes take and return an ``onnx.ModelProto`` and keep the graph's inputs and outputs, so
a rewritten graph still meets :mod:`flowaudio.runtime.contract` and ``export/verify.py`` checks
it against torch like any other. ``export/onnx_io.py`` applies them for ``weights="int8"``.

:func:`conv1d_as_matmul`
    A ``Conv`` over (B, C, T) with a constant weight, one group, stride 1 and dilation 1 becomes
    its channels-last twin::

        Transpose(B, T, C) -> [Pad T] -> k Slices -> Concat (B, T, k C) -> MatMul (k C, C_out)
            -> Add bias -> Transpose(B, C_out, T)

    The same arithmetic (an explicit im2col); in float32 onnxruntime runs it as fast as the
    Conv (measured on the ``small`` voice, 2 threads: velocity, encoder and vocoder graphs
    0.98-1.06x, within the noise), outputs equal to ~1e-6. It exists for quantization:
    onnxruntime's int8 ``ConvInteger`` is 3.3x *slower* than float Conv, its int8 MatMul fast.

:func:`quantize_int8`
    Dynamic quantization (``onnxruntime.quantization.quantize_dynamic``): the weight of every
    MatMul with a constant right-hand side is stored as int8, one scale per output channel;
    activations are quantized to uint8 on every call from their own range. onnxruntime fuses
    each into one ``DynamicQuantizeMatMul`` kernel (VNNI/AMX where the CPU has them). Weights
    use 7 bits (``reduce_range=True``, values in [-64, 64]): on x86 CPUs with AVX2 and no VNNI
    the uint8 x int8 kernel (``vpmaddubsw``) adds two products in int16, which saturates for
    8-bit weights (2 * 255 * 127 > 32767) and cannot for 7-bit ones (2 * 255 * 64 = 32640). A
    voice is quantized once and runs on any CPU, so the export cannot pick by its own
    processor. Measured on the ``tiny`` test voice's velocity graph (relative max error against
    float32, 3 random inputs): 8-bit weights 0.012-0.015 with VNNI and 0.105-0.142 under an
    emulated Haswell (qemu-x86_64 -cpu Haswell: AVX2, no VNNI); 7-bit weights 0.016-0.020 on
    both, the same numbers to 1e-7.

Measured on the ``small`` voice (2 threads, a busy machine, 4 Euler steps), int8 velocity and
vocoder against float32: synthesis 0.64-0.8x the time; velocity graph 0.57-0.75x, vocoder
0.59-0.70x; files 20.4 -> 6.4 MB and 18.6 -> 8.0 MB; over 5 sentences the mel differs by 0.004
in L1 and 0.02 at most (log-mel units; 4 vs 8 steps differ by 0.005), the audio's log-mel by
0.0065 in L1. Left float32 on purpose: the vocoder's inverse STFT (a ConvTranspose, not
reached by these passes; quantizing its DFT basis doubled the audio error for no measured
speed-up) and every depthwise or strided convolution.

This module imports onnx and onnxruntime's quantization tools: it belongs to the export side.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

__all__ = [
    "INT8_GRAPHS",
    "INT8_ONLY",
    "INT8_WEIGHT_LIMIT",
    "SENSITIVE_RATIO",
    "conv1d_as_matmul",
    "int8_errors",
    "int8_sensitive",
    "quantizable_matmuls",
    "quantize_int8",
]

INT8_GRAPHS = ("encoder", "velocity", "vocoder")
"""Graphs whose weights ``weights="int8"`` quantizes (in the encoder only the MatMuls that
:data:`INT8_ONLY` names). The fused graph holds the whole encoder, duration predictor
included, so it stays float32."""

INT8_ONLY = {"encoder": ("/encoder/layers.",)}
"""Per graph, the name prefixes of the MatMuls (and Gemms) int8 may reach (a graph not listed:
every one). The encoder's log-durations are rounded to whole frames, so what feeds them directly
stays float32: the prenet, the mu projection, the speaker projections and the duration
predictor. Measured on the default voice: int8 on every encoder MatMul changed the length of 3
of 5 test sentences; on the transformer layers alone the encoder takes 0.78x its time (32.6 ->
25.3 ms for 339 tokens, 2 threads) and on the 40 held-out sentences of the voice's report the
total frames per speaker stay within 0.07% of the float16 voice's, while 12% of the tokens
start or end a frame earlier or later (float32 encoder: 0.7%)."""

INT8_WEIGHT_LIMIT = 64
"""Largest magnitude of a quantized weight: with uint8 activations (at most 255) two products
add up to at most 2 * 255 * 64 = 32640, inside int16, so no x86 kernel saturates."""

_INT64_MAX = int(np.iinfo(np.int64).max)


def _constants(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Initializers and ``Constant`` node outputs of ``graph``, by name."""
    out = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if (
            node.op_type == "Constant"
            and len(node.attribute) == 1
            and node.attribute[0].name == "value"
        ):
            out[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return out


def _convertible(node: onnx.NodeProto, weight: np.ndarray) -> bool:
    if weight.ndim != 3 or weight.dtype != np.float32:
        return False
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    return (
        attrs.get("group", 1) == 1
        and all(s == 1 for s in attrs.get("strides", [1]))
        and all(d == 1 for d in attrs.get("dilations", [1]))
        and auto_pad in (b"NOTSET", "NOTSET")
        and len(attrs.get("pads", [0, 0])) == 2
    )


def conv1d_as_matmul(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite every qualifying 1-D ``Conv`` as a channels-last MatMul (returns ``proto``).

    Qualifying: a 3-D constant float32 weight (C_out, C_in, k), ``group`` 1, stride 1,
    dilation 1, explicit ``pads`` (any, including asymmetric). Others (depthwise, strided) are
    left as they are. With W (C_out, C_in, k) the MatMul weight is W2 (k C_in, C_out),
    ``W2[j C_in + c, o] = W[o, c, j]``, and column block j of the im2col input holds frame
    ``t + j - pad_begin`` of the channels-last input (zeros outside), so
    ``y[b, o, t] = bias[o] + sum_{j, c} W[o, c, j] x[b, c, t + j - pad_begin]``: the Conv.
    """
    graph = proto.graph
    consts = _constants(graph)
    nodes: list[onnx.NodeProto] = []
    added: list[onnx.TensorProto] = []

    def int64s(name: str, values: list[int]) -> str:
        added.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        return name

    for node in graph.node:
        weight = consts.get(node.input[1]) if node.op_type == "Conv" else None
        if weight is None or not _convertible(node, weight):
            nodes.append(node)
            continue
        c_out, c_in, k = weight.shape
        pads = next((list(a.ints) for a in node.attribute if a.name == "pads"), [0, 0])
        p = f"{node.name or node.output[0]}__cl"
        nodes.append(
            helper.make_node(
                "Transpose", [node.input[0]], [f"{p}_x"], name=f"{p}_to_btc", perm=[0, 2, 1]
            )
        )
        current = f"{p}_x"  # (B, T, C_in)
        if k > 1:
            if any(pads):
                pad_spec = int64s(f"{p}_pads", [0, pads[0], 0, 0, pads[1], 0])
                nodes.append(
                    helper.make_node("Pad", [current, pad_spec], [f"{p}_padded"], name=f"{p}_pad")
                )
                current = f"{p}_padded"
            columns = []
            for j in range(k):
                # Column j: frames [j, T_padded - (k - 1 - j)), the same count for every j.
                end = -(k - 1 - j) if j < k - 1 else _INT64_MAX
                nodes.append(
                    helper.make_node(
                        "Slice",
                        [
                            current,
                            int64s(f"{p}_start{j}", [j]),
                            int64s(f"{p}_end{j}", [end]),
                            int64s(f"{p}_axis{j}", [1]),
                        ],
                        [f"{p}_col{j}"],
                        name=f"{p}_slice{j}",
                    )
                )
                columns.append(f"{p}_col{j}")
            nodes.append(
                helper.make_node("Concat", columns, [f"{p}_im2col"], name=f"{p}_concat", axis=2)
            )
            current = f"{p}_im2col"  # (B, T, k C_in)
        matrix = np.ascontiguousarray(weight.transpose(2, 1, 0).reshape(k * c_in, c_out))
        added.append(numpy_helper.from_array(matrix, f"{p}_weight"))
        nodes.append(
            helper.make_node("MatMul", [current, f"{p}_weight"], [f"{p}_y"], name=f"{p}_matmul")
        )
        current = f"{p}_y"  # (B, T, C_out)
        if len(node.input) > 2 and node.input[2]:
            nodes.append(
                helper.make_node("Add", [current, node.input[2]], [f"{p}_biased"], name=f"{p}_bias")
            )
            current = f"{p}_biased"
        nodes.append(
            helper.make_node(
                "Transpose", [current], [node.output[0]], name=f"{p}_to_bct", perm=[0, 2, 1]
            )
        )

    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(added)
    _drop_unused(graph)
    return proto


def _inputs_read(graph: onnx.GraphProto) -> set[str]:
    """Names read by the nodes of ``graph`` and of its subgraphs (If / Loop bodies)."""
    names = set()
    for node in graph.node:
        names.update(node.input)
        for attr in node.attribute:
            for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
                names |= _inputs_read(sub)
    return names


def _drop_unused(graph: onnx.GraphProto) -> None:
    """Remove initializers and ``Constant`` nodes that no node reads any more."""
    # Graph inputs too: an initializer listed as an input (older IR) is the input's default.
    used = _inputs_read(graph) | {v.name for v in [*graph.input, *graph.output]}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = [n for n in graph.node if n.op_type != "Constant" or n.output[0] in used]
    del graph.node[:]
    graph.node.extend(nodes)


def quantizable_matmuls(proto: onnx.ModelProto) -> list[str]:
    """Names of the MatMul nodes :func:`quantize_int8` would quantize (a constant right-hand
    side), in graph order."""
    consts = _constants(proto.graph)
    return [
        n.name
        for n in proto.graph.node
        if n.op_type == "MatMul" and n.input[1] in consts and consts[n.input[1]].ndim == 2
    ]


def quantize_int8(proto: onnx.ModelProto, keep_float: Iterable[str] = ()) -> onnx.ModelProto:
    """The graph with the weights of its MatMuls stored as int8 (a new proto).

    ``proto`` is a float32 graph; run :func:`conv1d_as_matmul` first so that its convolutions
    qualify. ``keep_float``: names of MatMul nodes left in float32 (the sensitive ones, see
    ``bench/int8_sensitivity.py``). Metadata is not carried over: set it on the result.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    hint = _PreprocessHint()
    root.addFilter(hint)
    try:
        with tempfile.TemporaryDirectory(prefix="flowaudio-int8-") as tmp:
            src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
            onnx.save(proto, str(src))
            quantize_dynamic(
                src,
                dst,
                op_types_to_quantize=["MatMul"],
                per_channel=True,
                reduce_range=True,  # no int16 saturation on AVX2 CPUs (module docstring)
                weight_type=QuantType.QInt8,
                extra_options={"MatMulConstBOnly": True},
                nodes_to_exclude=list(keep_float),
            )
            return onnx.load(str(dst))
    finally:
        root.removeFilter(hint)


SENSITIVE_RATIO = 4.0
"""A MatMul stays float32 in an int8 graph when int8 on it alone costs more than this many
times the median MatMul's error (:func:`int8_sensitive`)."""


def int8_sensitive(
    proto: onnx.ModelProto,
    feeds: Sequence[Mapping[str, np.ndarray]],
    ratio: float = SENSITIVE_RATIO,
) -> list[str]:
    """The MatMuls of ``proto`` (float32, after :func:`conv1d_as_matmul`) that int8 hurts most.

    Each quantizable MatMul is quantized alone (every other kept float32) and its mean
    absolute output error on ``feeds`` measured; those above ``ratio`` times the median are
    returned, worst first. On the default voice's velocity graph (41 MatMuls) four stand out,
    on random inputs and on real ones alike (``bench/int8_sensitivity.py``): the input
    projection, the output convolution and the two channel-changing residual 1x1 convolutions,
    9-19x the median against at most 2.2x for any other; keeping them float32 cuts the
    graph's int8 error 7x (mean |dv| 0.034 -> 0.005) for ~0.05x of its time.
    """
    if len(quantizable_matmuls(proto)) < 3:  # no median to stand out from
        return []
    errors = int8_errors(proto, feeds)
    median = float(np.median(list(errors.values())))
    if not median > 0:
        return []
    return sorted((n for n in errors if errors[n] > ratio * median), key=lambda n: -errors[n])


def int8_errors(
    proto: onnx.ModelProto, feeds: Sequence[Mapping[str, np.ndarray]]
) -> dict[str, float]:
    """Per quantizable MatMul of ``proto``: the mean absolute error of the first output on
    ``feeds`` when that MatMul alone is int8 (every other float32), in graph order."""
    import onnxruntime as ort

    names = quantizable_matmuls(proto)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3

    def run(model: onnx.ModelProto) -> list[np.ndarray]:
        sess = ort.InferenceSession(model.SerializeToString(), opts, ["CPUExecutionProvider"])
        return [sess.run(None, dict(f))[0] for f in feeds]

    reference = run(proto)
    errors = {}
    for name in names:
        alone = quantize_int8(proto, [n for n in names if n != name])
        out = run(alone)
        diffs = [np.abs(o - r).mean() for o, r in zip(out, reference, strict=True)]
        errors[name] = float(np.mean(diffs))
    return errors


class _PreprocessHint(logging.Filter):
    """Drops quantize_dynamic's advice to run ``quant_pre_process`` first (a warning on the root
    logger at every call): measured on these graphs, it changes neither speed nor error. Also
    its INFO lines on the root logger, one per dynamically quantized activation ("Quantization
    parameters for tensor ... not specified": dynamic quantization has none by design) and per
    activation-by-activation MatMul ("Ignore MatMul due to non constant B")."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "pre-processing before quantization" in message
            or message.startswith("Quantization parameters for tensor")
            or message.startswith("Ignore MatMul due to non constant B")
        )
