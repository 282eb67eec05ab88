"""Vocoder training (GAN) on a real tiny teacher corpus, on CPU, through the shared loop."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from flowaudio.audio.config import AudioConfig
from flowaudio.cli import main
from flowaudio.config import from_dict
from flowaudio.models.config import VocoderConfig
from flowaudio.models.vocoder import Vocoder
from flowaudio.train.checkpoint import latest_checkpoint, load_checkpoint
from flowaudio.train.dataset import TTSDataset
from flowaudio.train.vocoder import train_vocoder


def test_tiny_vocoder_trains_and_makes_audio_of_the_right_length(teacher_cache, tmp_path):
    torch.set_num_threads(1)  # see tests/conftest.py: 2 threads is 5x slower on busy CI
    train_vocoder(teacher_cache, tmp_path, "tiny", max_steps=40, progress=False)
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["split"] == "train"]
    assert all(np.isfinite(r["loss"]) and np.isfinite(r["disc"]) for r in train)
    assert train[-1]["mel"] < train[0]["mel"], (train[0]["mel"], train[-1]["mel"])
    assert any(r["split"] == "val" and np.isfinite(r["mel_l1"]) for r in rows)

    state = load_checkpoint(latest_checkpoint(tmp_path))
    assert state["task"] == "vocoder" and set(state["modules"]) == {"generator", "discriminator"}
    audio_cfg = from_dict(AudioConfig, state["metadata"]["audio"])
    gen = Vocoder(from_dict(VocoderConfig, state["config"]["model"]), audio_cfg).eval()
    gen.load_state_dict(state["ema"])
    item = TTSDataset(teacher_cache, "val", with_audio=True)[0]
    with torch.no_grad():
        audio = gen(item["mel"][None])[0]
    assert audio.shape[0] == item["mel"].shape[1] * audio_cfg.hop_length == len(item["audio"])
    assert torch.isfinite(audio).all() and audio.abs().max() <= 1.0


def test_cli_resumes(teacher_cache, tmp_path):
    run = str(tmp_path / "run")
    base = ["train-vocoder", "--data", str(teacher_cache), "--out", run, "-q"]
    assert main([*base, "--config", "tiny", "--max-steps", "2"]) == 0
    assert main([*base, "--max-steps", "4"]) == 0
    assert load_checkpoint(latest_checkpoint(run))["step"] == 4


def test_ddp_two_cpu_processes_train_the_gan(teacher_cache, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    proc = subprocess.run(
        [
            str(torchrun),
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "flowaudio",
            "train-vocoder",
            "--config",
            "tiny",
            "--data",
            str(teacher_cache),
            "--out",
            str(tmp_path / "run"),
            "--max-steps",
            "4",
            "-q",
        ],
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert load_checkpoint(latest_checkpoint(tmp_path / "run"))["step"] == 4
