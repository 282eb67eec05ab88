import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from toytask import ToyTask, run, toy_config

from flowaudio.train.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from flowaudio.train.loop import Trainer

HERE = Path(__file__).parent


def _losses(run_dir: Path) -> dict[int, float]:
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in rows if r["split"] == "train"}


def _spawn(run_dir: Path, max_steps: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(HERE), TOY_STEP_SLEEP="0.3")
    return subprocess.Popen(
        [sys.executable, str(HERE / "toytask.py"), str(run_dir), str(max_steps)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_checkpoint(run_dir: Path, step: int, proc: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        ckpts = list_checkpoints(run_dir)
        if ckpts and int(ckpts[-1].stem.split("_")[1]) >= step:
            return
        if proc.poll() is not None:
            raise AssertionError(f"trainer exited early: {proc.stdout.read()}")
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


def test_loss_falls_and_run_is_recorded(tmp_path):
    torch.set_num_threads(1)
    trainer = run(str(tmp_path), 40, checkpoint_every=20, val_every=20)
    losses = _losses(tmp_path)
    assert sum(list(losses.values())[-5:]) < 0.3 * sum(list(losses.values())[:5])
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000020.pt", "step_00000040.pt"]
    state = load_checkpoint(latest_checkpoint(tmp_path))
    assert state["step"] == 40 and state["config"] == {"toy": True} and state["task"] == "toy"
    assert state["ema"] is not None
    vals = [
        json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines() if '"val"' in x
    ]
    assert [v["step"] for v in vals] == [20, 40]
    assert (tmp_path / "tensorboard").is_dir()
    assert trainer.step == 40


def test_sigkill_then_resume_gives_the_same_next_steps(tmp_path):
    torch.set_num_threads(1)
    reference = tmp_path / "reference"
    run(str(reference), 12)
    ref_losses = _losses(reference)
    ref_weights = load_checkpoint(latest_checkpoint(reference))["modules"]["model"]

    killed = tmp_path / "killed"
    proc = _spawn(killed, 12)
    _wait_for_checkpoint(killed, 8, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert latest_checkpoint(killed).name == "step_00000008.pt"  # killed between 8 and 12

    resumed = Trainer(ToyTask(), toy_config(max_steps=12), killed, {"toy": True}, progress=False)
    assert resumed.step == 8
    resumed.fit()
    losses = _losses(killed)
    for step in (9, 10, 11, 12):
        assert losses[step] == ref_losses[step], step  # bit-exact, not approximately
    final = load_checkpoint(latest_checkpoint(killed))["modules"]["model"]
    for key, value in ref_weights.items():
        assert torch.equal(final[key], value)


def test_ctrl_c_saves_before_leaving(tmp_path):
    proc = _spawn(tmp_path, 1000)
    _wait_for_checkpoint(tmp_path, 4, proc)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "stop requested" in out and "interrupted=True" in out
    step = load_checkpoint(latest_checkpoint(tmp_path))["step"]
    assert step >= 4
    again = Trainer(
        ToyTask(), toy_config(max_steps=step + 2), tmp_path, {"toy": True}, progress=False
    )
    assert again.resumed_from is not None and again.step == step


def test_resume_refuses_another_task(tmp_path):
    run(str(tmp_path), 4)
    ckpt = latest_checkpoint(tmp_path)
    state = load_checkpoint(ckpt)
    state["task"] = "vocoder"
    save_checkpoint(ckpt, state)
    with pytest.raises(ValueError, match="holds a 'vocoder' run"):
        Trainer(ToyTask(), toy_config(), tmp_path, {}, progress=False)


def test_foreign_and_future_checkpoints_are_clear_errors(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="not a readable flowaudio checkpoint"):
        load_checkpoint(junk)
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(1)}, plain)
    with pytest.raises(ValueError, match="not a flowaudio checkpoint"):
        load_checkpoint(plain)
    future = tmp_path / "future.pt"
    save_checkpoint(future, {})
    state = torch.load(future, weights_only=True)
    state["flowaudio_checkpoint"] = 99
    torch.save(state, future)
    with pytest.raises(ValueError, match="checkpoint format 99"):
        load_checkpoint(future)


@pytest.mark.skipif(
    shutil.which("torchrun") is None and not Path(sys.executable).with_name("torchrun").exists(),
    reason="torchrun is part of torch",
)
def test_ddp_two_gloo_processes_keep_replicas_identical(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    env = dict(os.environ, PYTHONPATH=str(HERE), OMP_NUM_THREADS="1")
    dump = tmp_path / "dump"
    dump.mkdir()
    proc = subprocess.run(
        [
            str(torchrun),
            "--standalone",
            "--nproc_per_node",
            "2",
            str(HERE / "toytask.py"),
            str(tmp_path / "run"),
            "12",
            str(dump),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    a = torch.load(dump / "rank0.pt", weights_only=True)
    b = torch.load(dump / "rank1.pt", weights_only=True)
    start = ToyTask().model.state_dict()
    for key in a:
        assert torch.equal(a[key], b[key])
        assert not torch.equal(a[key], start[key])  # it did train
    state = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert state["step"] == 12 and len(state["rng"]) == 2


def test_a_corrupt_newest_checkpoint_falls_back_and_stale_temporaries_go(tmp_path, caplog):
    torch.set_num_threads(1)
    run(str(tmp_path), 8, checkpoint_every=4, val_every=4)
    newest = latest_checkpoint(tmp_path)
    assert newest.name == "step_00000008.pt"
    newest.write_bytes(newest.read_bytes()[:100])  # damaged after it was written
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    stale = newest.parent / f".step_00000012.pt.tmp{int(dead.stdout)}"  # a kill mid-save
    stale.write_bytes(b"half")
    alive = newest.parent / f".step_00000012.pt.tmp{os.getppid()}"  # another live writer
    alive.write_bytes(b"in progress")
    with caplog.at_level("WARNING"):
        resumed = Trainer(ToyTask(), toy_config(max_steps=8), tmp_path, {}, progress=False)
    assert resumed.step == 4 and resumed.resumed_from.name == "step_00000004.pt"
    assert "step_00000008.pt is not a readable" in caplog.text
    assert not stale.exists() and alive.exists()
    # metrics.jsonl forgets the rows past the checkpoint: steps 5-8 will be logged again
    steps = [json.loads(x)["step"] for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == 4
    resumed.fit()
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in rows if r["split"] == "train"]
    assert len(train_steps) == len(set(train_steps)) and max(train_steps) == 8
    resumed.close()
    for path in list_checkpoints(tmp_path):  # every checkpoint unusable: a clear error
        path.write_bytes(b"")
    with pytest.raises(ValueError, match="none of the 2 checkpoint"):
        Trainer(ToyTask(), toy_config(max_steps=8), tmp_path, {}, progress=False)


def test_commands_exit_130_after_a_stop_signal(tmp_path):
    from types import SimpleNamespace

    from flowaudio.cli.train import exit_status

    assert exit_status(SimpleNamespace(interrupted=True, step=7)) == 130
    finished = run(str(tmp_path), 2)  # ran to max_steps: no signal, status 0
    assert not finished.interrupted and exit_status(finished) == 0
