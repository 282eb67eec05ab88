"""Acoustic-model training on a real (tiny) teacher corpus, on CPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from flowaudio.cli import main
from flowaudio.config import ConfigError
from flowaudio.train.acoustic import AcousticTask, train_acoustic
from flowaudio.train.checkpoint import latest_checkpoint, load_checkpoint
from flowaudio.train.config import ACOUSTIC_PRESETS
from flowaudio.train.loop import Trainer


def _train_losses(run_dir: Path) -> dict[int, float]:
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in rows if r["split"] == "train"}


def test_loss_falls_on_a_teacher_corpus(teacher_cache, tmp_path):
    torch.set_num_threads(1)  # see tests/conftest.py: 2 threads is 5x slower on busy CI
    trainer = train_acoustic(teacher_cache, tmp_path, "tiny", max_steps=80, progress=False)
    losses = list(_train_losses(tmp_path).values())
    assert losses[-1] < 0.8 * losses[0], losses
    state = load_checkpoint(latest_checkpoint(tmp_path))
    meta = state["metadata"]
    assert meta["speakers"] == ["rms", "slt"]
    assert meta["symbols"]["version"] == "1"
    assert state["config"]["model"]["speaker"]["n_speakers"] == 2
    assert trainer.step == 80


def test_resume_continues_exactly(teacher_cache, tmp_path):
    """Stopping at step 4 and resuming from disk gives the uninterrupted run's next losses."""
    torch.set_num_threads(1)
    cfg = ACOUSTIC_PRESETS["tiny"]
    import dataclasses

    speaker = dataclasses.replace(cfg.model.speaker, n_speakers=2)
    cfg = dataclasses.replace(
        cfg,
        model=dataclasses.replace(cfg.model, speaker=speaker),
        train=dataclasses.replace(
            cfg.train, max_steps=8, checkpoint_every=4, log_every=1, val_every=100
        ),
    )

    def trainer(run_dir, steps):
        task = AcousticTask(cfg, teacher_cache)
        t = Trainer(
            task, dataclasses.replace(cfg.train, max_steps=steps), run_dir, {}, progress=False
        )
        return t

    trainer(tmp_path / "a", 8).fit()
    # "crash" after the checkpoint at step 4: a new process state, everything from disk
    trainer(tmp_path / "b", 4).fit()
    resumed = trainer(tmp_path / "b", 8)
    assert resumed.step == 4
    resumed.fit()
    a, b = _train_losses(tmp_path / "a"), _train_losses(tmp_path / "b")
    assert [a[s] for s in range(5, 9)] == [b[s] for s in range(5, 9)]


def test_cli_train_resumes_and_guards_its_config(teacher_cache, tmp_path, caplog):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--config",
                "tiny",
                "--data",
                str(teacher_cache),
                "--out",
                str(run),
                "--max-steps",
                "3",
                "-q",
            ]
        )
        == 0
    )
    assert json.loads((run / "config.json").read_text())["train"]["max_steps"] == 3
    caplog.clear()
    import logging

    with caplog.at_level(logging.INFO):
        assert (
            main(
                ["train", "--data", str(teacher_cache), "--out", str(run), "--max-steps", "5", "-q"]
            )
            == 0
        )
    assert any("resumed from step 3" in r.getMessage() for r in caplog.records)
    assert load_checkpoint(latest_checkpoint(run))["step"] == 5
    with pytest.raises(ConfigError, match="another config"):
        train_acoustic(teacher_cache, run, "small", max_steps=6, progress=False)


def test_ddp_two_cpu_processes_train_the_acoustic_model(teacher_cache, tmp_path):
    """torchrun + gloo; the loop checks at each checkpoint that both replicas are identical."""
    torchrun = Path(sys.executable).with_name("torchrun")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            str(torchrun),
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "flowaudio",
            "train",
            "--config",
            "tiny",
            "--data",
            str(teacher_cache),
            "--out",
            str(tmp_path / "run"),
            "--max-steps",
            "6",
            "-q",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    state = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert state["step"] == 6
    assert len(state["rng"]) == 2  # both ranks' random streams are saved
