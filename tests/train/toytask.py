"""A tiny regression task for testing the generic training loop (importable by subprocesses)."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from flowaudio.train.config import TrainConfig
from flowaudio.train.loop import StepContext, Trainer, TrainTask


class ToyData(Dataset):
    def __init__(self, n: int = 64, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 8, generator=g)
        self.w = torch.randn(8, 1, generator=g)
        self.frame_lengths = [int(v) for v in torch.randint(5, 50, (n,), generator=g)]

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i], self.x[i] @ self.w


@dataclass
class ToyBatch:
    x: torch.Tensor
    y: torch.Tensor

    def to(self, device):
        return ToyBatch(self.x.to(device), self.y.to(device))


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))

    def loss(self, batch: ToyBatch) -> torch.Tensor:
        # Noise from the global RNG: resume is only exact if RNG states are restored.
        noisy = batch.x + 0.05 * torch.randn_like(batch.x)
        return ((self.net(noisy) - batch.y) ** 2).mean()


class ToyTask(TrainTask):
    name = "toy"

    def __init__(self):
        torch.manual_seed(0)
        self.model = ToyModel()
        self.data = ToyData()

    def modules(self):
        return {"model": self.model}

    def train_dataset(self):
        return self.data

    def val_dataset(self):
        return ToyData(8, seed=1)

    def collate(self, items):
        return ToyBatch(torch.stack([x for x, _ in items]), torch.stack([y for _, y in items]))

    def train_step(self, step: int, batch: ToyBatch, ctx: StepContext):
        loss = ctx.call("model", "loss", batch)
        ctx.optimize("model", loss)
        # Lets the kill/interrupt tests catch the process mid-run with the reference config.
        time.sleep(float(os.environ.get("TOY_STEP_SLEEP", "0")))
        return {"loss": float(loss.detach())}

    def validate(self, modules, batches):
        losses = [float(modules["model"].loss(b)) for b in batches]
        return {"loss": sum(losses) / len(losses)}


def toy_config(**overrides) -> TrainConfig:
    base = {
        "max_steps": 12,
        "max_frames": 200,
        "lr": 1e-2,
        "warmup_steps": 2,
        "checkpoint_every": 4,
        "val_every": 6,
        "log_every": 1,
        "ema_decay": 0.9,
        "keep_checkpoints": 10,
    }
    base.update(overrides)
    return TrainConfig(**base)


def run(run_dir: str, max_steps: int, **overrides) -> Trainer:
    trainer = Trainer(
        ToyTask(),
        toy_config(max_steps=max_steps, **overrides),
        run_dir,
        {"toy": True},
        progress=False,
    )
    trainer.fit()
    trainer.close()
    return trainer


if __name__ == "__main__":
    # python toytask.py RUN_DIR MAX_STEPS [DUMP]  (used by the kill/resume and DDP tests)
    import logging

    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(1)
    trainer = run(sys.argv[1], int(sys.argv[2]))
    print(f"interrupted={trainer.interrupted}")
    if len(sys.argv) > 3:
        rank = trainer.dist.rank
        torch.save(trainer.modules["model"].state_dict(), Path(sys.argv[3]) / f"rank{rank}.pt")
