"""Vocos-style vocoder (the generator): shapes, config, ONNX parity. Its training losses and
discriminators are tested in tests/train/test_vocoder_losses.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from flowaudio.audio.config import AUDIO_PRESETS
from flowaudio.config import ConfigError, from_dict, to_dict
from flowaudio.export.vocoder import VOCODER_INPUT, export_vocoder_onnx
from flowaudio.models.config import VOCODER_PRESETS, VocoderConfig
from flowaudio.models.vocoder import Vocoder

AUDIO = AUDIO_PRESETS["16k"]
TINY = VOCODER_PRESETS["tiny"]


@pytest.mark.parametrize("frames", [1, 2, 17, 64])
def test_tiny_vocoder_output_shape_and_range(frames: int) -> None:
    torch.manual_seed(0)
    vocoder = Vocoder(TINY, AUDIO).eval()
    mel = torch.randn(2, AUDIO.n_mels, frames) * 2.0 - 4.0
    with torch.no_grad():
        audio = vocoder(mel)
    assert audio.shape == (2, frames * AUDIO.hop_length)
    assert torch.isfinite(audio).all()
    assert float(audio.abs().max()) <= 1.0


def test_vocoder_rejects_wrong_mel_shape() -> None:
    vocoder = Vocoder(TINY, AUDIO)
    with pytest.raises(ValueError, match=r"n_mels=80"):
        vocoder(torch.zeros(1, 64, 10))
    with pytest.raises(ValueError, match=r"\(B, n_mels=80, T\)"):
        vocoder(torch.zeros(80, 10))


def test_config_presets_round_trip_and_validation() -> None:
    for preset in VOCODER_PRESETS.values():
        assert from_dict(VocoderConfig, to_dict(preset)) == preset
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(VocoderConfig, {"dims": 128})
    with pytest.raises(ConfigError, match="kernel_size must be odd"):
        VocoderConfig(kernel_size=6)
    with pytest.raises(ConfigError, match="mel_weight must be >= 0"):
        VocoderConfig(mel_weight=-1.0)
    # parameter counts (reported in bench/results/vocoder_rtf.json)
    counts = {name: Vocoder(cfg, AUDIO).num_parameters() for name, cfg in VOCODER_PRESETS.items()}
    assert counts["tiny"] < counts["small"] < counts["base"]
    assert 3e6 < counts["small"] < 4e6


def test_tiny_vocoder_onnx_parity(tmp_path: Path) -> None:
    torch.manual_seed(0)
    vocoder = Vocoder(TINY, AUDIO).eval()
    path = export_vocoder_onnx(vocoder, tmp_path / "vocoder.onnx")
    metadata = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert metadata["flowaudio.graph"] == "vocoder"
    assert metadata["sample_rate"] == "16000"
    assert metadata["hop_length"] == "256"
    assert from_dict(VocoderConfig, json.loads(metadata["vocoder_config"])) == TINY
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for batch, frames in ((1, 9), (2, 121)):
        mel = rng.normal(-4.0, 2.0, (batch, AUDIO.n_mels, frames)).astype(np.float32)
        (audio,) = session.run(None, {VOCODER_INPUT: mel})
        with torch.no_grad():
            expected = vocoder(torch.from_numpy(mel)).numpy()
        assert audio.shape == (batch, frames * AUDIO.hop_length)
        np.testing.assert_allclose(audio, expected, atol=1e-4, rtol=0)
