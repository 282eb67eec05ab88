"""ONNX readiness: ``encode`` and ``velocity`` export with dynamic lengths and match torch in ORT.

This is not the export module (that lives in ``export/``); it only proves the architecture
traces into graphs that run at lengths other than the traced one, including 2000 tokens.
Exporter: the TorchScript one (``dynamo=False``), opset 17.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from flowaudio.models import TTS_PRESETS, FlowTTS

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

N_VOCAB = 151
N_SPEAKERS = 3


class EncodeGraph(nn.Module):
    """ids (B, L), id_lengths (B,), speakers (B,), length_scale () -> mu, log_durations, spk."""

    def __init__(self, model: FlowTTS):
        super().__init__()
        self.model = model

    def forward(
        self, ids: Tensor, id_lengths: Tensor, speakers: Tensor, length_scale: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        out = self.model.encode(ids, id_lengths, speakers=speakers, length_scale=length_scale)
        return out.mu, out.log_durations, out.speaker


class VelocityGraph(nn.Module):
    """One velocity evaluation: x_t, t, mu_frames, mel_mask, spk_cond -> v (B, n_mels, T)."""

    def __init__(self, model: FlowTTS):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, t: Tensor, mu: Tensor, mask: Tensor, spk: Tensor) -> Tensor:
        return self.model.velocity(x, t, mu, mask, spk)


@pytest.fixture(scope="module")
def model() -> FlowTTS:
    torch.manual_seed(0)
    tiny = TTS_PRESETS["tiny"]
    config = dataclasses.replace(
        tiny, speaker=dataclasses.replace(tiny.speaker, n_speakers=N_SPEAKERS)
    )
    net = FlowTTS(config, N_VOCAB)
    net.set_normalization(-5.0, 2.0)
    return net.eval()


def _export(module: nn.Module, args: tuple[Tensor, ...], path: Path, **names: object) -> None:
    module.eval()  # the exporter restores the wrapper's mode (recursively) after tracing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(module, args, str(path), opset_version=17, dynamo=False, **names)


def test_encoder_exports_with_dynamic_length(model: FlowTTS, tmp_path: Path) -> None:
    graph = EncodeGraph(model)
    path = tmp_path / "encoder.onnx"
    g = torch.Generator().manual_seed(0)
    example = (
        torch.randint(4, N_VOCAB, (2, 13), generator=g),
        torch.tensor([13, 9]),
        torch.tensor([0, 2]),
        torch.tensor(1.0),
    )
    _export(
        graph,
        example,
        path,
        input_names=["ids", "id_lengths", "speakers", "length_scale"],
        output_names=["mu", "log_durations", "speaker"],
        dynamic_axes={
            "ids": {0: "batch", 1: "tokens"},
            "id_lengths": {0: "batch"},
            "speakers": {0: "batch"},
            "mu": {0: "batch", 2: "tokens"},
            "log_durations": {0: "batch", 2: "tokens"},
            "speaker": {0: "batch"},
        },
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch, n_tokens in [(3, 20), (1, 2000)]:
        ids = torch.randint(4, N_VOCAB, (batch, n_tokens), generator=g)
        lengths = torch.tensor([n_tokens, n_tokens // 2, 1][:batch])
        speakers = torch.tensor([1, 0, 2][:batch])
        scale = torch.tensor(1.3)
        with torch.no_grad():
            expected = graph(ids, lengths, speakers, scale)
        got = session.run(
            None,
            {
                "ids": ids.numpy(),
                "id_lengths": lengths.numpy(),
                "speakers": speakers.numpy(),
                "length_scale": scale.numpy(),
            },
        )
        for ours, theirs in zip(got, expected, strict=True):
            assert ours.shape == tuple(theirs.shape)
            np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-4, rtol=0)


def test_velocity_exports_with_dynamic_length(model: FlowTTS, tmp_path: Path) -> None:
    graph = VelocityGraph(model)
    path = tmp_path / "velocity.onnx"
    g = torch.Generator().manual_seed(1)

    def inputs(batch: int, n_frames: int) -> tuple[Tensor, ...]:
        mask = torch.ones(batch, 1, n_frames)
        mask[-1, :, n_frames - n_frames // 3 :] = 0.0  # last item shorter: padding inside
        spk = model.speaker_condition(torch.zeros(batch), speakers=torch.arange(batch) % 3)
        return (
            torch.randn(batch, 80, n_frames, generator=g),
            torch.rand(batch, generator=g),
            torch.randn(batch, 80, n_frames, generator=g),
            mask,
            spk.detach(),
        )

    names = ["x_t", "t", "mu", "mel_mask", "spk"]
    dynamic = {name: {0: "batch"} for name in names}
    for name in ("x_t", "mu", "mel_mask"):
        dynamic[name] = {0: "batch", 2: "frames"}
    dynamic["velocity"] = {0: "batch", 2: "frames"}
    _export(
        graph,
        inputs(2, 24),
        path,
        input_names=names,
        output_names=["velocity"],
        dynamic_axes=dynamic,
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch, n_frames in [(3, 37), (1, 501)]:  # odd lengths: padded inside the U-Net
        args = inputs(batch, n_frames)
        with torch.no_grad():
            expected = graph(*args).numpy()
        (got,) = session.run(None, {n: a.numpy() for n, a in zip(names, args, strict=True)})
        assert got.shape == expected.shape == (batch, 80, n_frames)
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
