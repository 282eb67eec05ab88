"""Graph rewrites of ``export/optimize.py`` on small generated graphs, against onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from flowaudio.export.optimize import (
    INT8_WEIGHT_LIMIT,
    conv1d_as_matmul,
    int8_sensitive,
    quantizable_matmuls,
    quantize_int8,
)


def _model(nodes, inputs, output, initializers) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in inputs],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["B", "C", "T"])],
        initializers,
    )
    # IR 8 / opset 17: what the exporter writes and what every onnxruntime since 1.14 reads.
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _run(model: onnx.ModelProto, feed: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feed)[0]


def _conv_model(c_in, c_out, k, pads, bias, rng, attrs=None) -> onnx.ModelProto:
    attrs = attrs or {}
    weight = rng.standard_normal((c_out, c_in // attrs.get("group", 1), k), np.float32)
    inits = [numpy_helper.from_array(weight, "w")]
    inputs = ["w"]
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(c_out).astype(np.float32), "b"))
        inputs.append("b")
    # A Mul before and after, as in the models: the rewrite must keep its neighbours wired.
    nodes = [
        helper.make_node("Mul", ["x", "x"], ["x2"]),
        helper.make_node("Conv", ["x2", *inputs], ["y"], pads=pads, **attrs),
        helper.make_node("Mul", ["y", "y"], ["out"]),
    ]
    return _model(nodes, [("x", ["B", c_in, "T"])], "out", inits)


@pytest.mark.parametrize(
    ("c_in", "c_out", "k", "pads", "bias"),
    [(8, 16, 1, [0, 0], True), (8, 8, 3, [1, 1], True), (6, 4, 5, [2, 2], False),
     (4, 4, 4, [3, 0], True), (5, 3, 3, [0, 0], True)],
)  # fmt: skip
def test_conv1d_as_matmul_equals_the_conv(c_in, c_out, k, pads, bias):
    rng = np.random.default_rng(k)
    model = _conv_model(c_in, c_out, k, pads, bias, rng)
    for b, t in ((2, 17), (1, 5)):  # dynamic batch and length, T as short as the kernel
        x = rng.standard_normal((b, c_in, t), np.float32)
        reference = _run(model, {"x": x})
        rewritten = conv1d_as_matmul(onnx.load_from_string(model.SerializeToString()))
        onnx.checker.check_model(rewritten, full_check=True)
        assert [n.op_type for n in rewritten.graph.node].count("Conv") == 0
        assert "w" not in {i.name for i in rewritten.graph.initializer}  # the old weight is gone
        out = _run(rewritten, {"x": x})
        assert out.shape == reference.shape
        np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("attrs", [{"group": 4}, {"strides": [2]}, {"dilations": [2]}])
def test_conv1d_as_matmul_leaves_other_convs_alone(attrs):
    model = _conv_model(4, 4, 3, [1, 1], True, np.random.default_rng(0), attrs)
    rewritten = conv1d_as_matmul(onnx.load_from_string(model.SerializeToString()))
    assert [n.op_type for n in rewritten.graph.node] == ["Mul", "Conv", "Mul"]


def test_quantize_int8_stores_int8_weights_and_stays_close():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 48), np.float32) / 8
    model = _model(
        [helper.make_node("MatMul", ["x", "w"], ["out"])],
        [("x", ["B", "T", 64])],
        "out",
        [numpy_helper.from_array(w, "w")],
    )
    quantized = quantize_int8(model)
    dtypes = {i.data_type for i in quantized.graph.initializer if i.dims and np.prod(i.dims) > 100}
    assert dtypes == {TensorProto.INT8}
    x = rng.standard_normal((2, 30, 64), np.float32)
    reference = _run(model, {"x": x})
    out = _run(quantized, {"x": x})
    # int8 weights, uint8 activations: measured 1.0% of the output's mean magnitude
    assert np.abs(out - reference).mean() < 0.03 * np.abs(reference).mean()
    assert not np.array_equal(out, reference)

    # The check that holds on every x86-64 CPU: the weights fit 7 bits (no int16 saturation in
    # the AVX2 kernel), and the graph computes exactly what the quantization promises, integer
    # products of the quantized operands, whatever instructions run it.
    inits = {i.name: numpy_helper.to_array(i) for i in quantized.graph.initializer}
    w_q, w_scale = inits["w_quantized"].astype(np.int64), inits["w_scale"]
    assert np.abs(w_q).max() <= INT8_WEIGHT_LIMIT
    lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))  # one range per call
    x_scale = np.float32((hi - lo) / 255)
    zero = np.clip(np.rint(-lo / x_scale), 0, 255)
    x_q = np.clip(np.rint(x / x_scale) + zero, 0, 255).astype(np.int64)
    model = ((x_q - int(zero)) @ w_q) * (x_scale * w_scale)
    # an activation on a rounding tie may land one step away: one product's worth
    assert np.abs(out - model).max() <= 1e-5 + x_scale * np.abs(w).max()


def test_int8_sensitive_finds_the_matmul_int8_hurts_and_quantize_keeps_it_float():
    # Five MatMuls side by side, summed; every column of m1's weight has one entry 200x the
    # rest, so its int8 scale rounds the others away: int8 on it alone costs far more than on
    # any other, and keeping it float32 leaves one MatMul with a float weight in the graph.
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((32, 32)).astype(np.float32) / 6 for _ in range(5)]
    weights[1][rng.integers(0, 32, 32), np.arange(32)] = 40.0
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], name="to_btc", perm=[0, 2, 1])]
    total = None
    for i in range(5):
        nodes.append(helper.make_node("MatMul", ["xt", f"w{i}"], [f"h{i}"], name=f"m{i}"))
        if total is None:
            total = f"h{i}"
        else:
            nodes.append(helper.make_node("Add", [total, f"h{i}"], [f"s{i}"], name=f"add{i}"))
            total = f"s{i}"
    nodes.append(helper.make_node("Transpose", [total], ["y"], name="to_bct", perm=[0, 2, 1]))
    inits = [numpy_helper.from_array(w, f"w{i}") for i, w in enumerate(weights)]
    model = _model(nodes, [("x", ["B", 32, "T"])], "y", inits)
    assert quantizable_matmuls(model) == ["m0", "m1", "m2", "m3", "m4"]
    feed = {"x": rng.standard_normal((2, 32, 50)).astype(np.float32)}
    assert int8_sensitive(model, [feed], ratio=4.0) == ["m1"]
    kept = quantize_int8(model, keep_float=["m1"])
    float_matmuls = [n.name for n in kept.graph.node if n.op_type == "MatMul"]
    assert float_matmuls == ["m1"]  # the others became int8 kernels
    reference = _run(model, feed)
    err_kept = np.abs(_run(kept, feed) - reference).mean()
    err_all = np.abs(_run(quantize_int8(model), feed) - reference).mean()
    assert err_kept < err_all / 3
