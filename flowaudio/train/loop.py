"""The training loop shared by every task, on one CPU, one GPU or many (torchrun + DDP).

Exact resume: a checkpoint holds the modules, the EMA, every optimiser and scheduler, the step,
the sampler position (epoch and batches consumed) and every process's RNG states, so a run that
is killed (even with SIGKILL) and restarted from its last checkpoint computes the same next steps
as a run that was never interrupted. Ctrl-C (SIGINT) and SIGTERM finish the current step, write
a checkpoint and leave.

Under ``torchrun`` the loop reads RANK / WORLD_SIZE / LOCAL_RANK, uses NCCL on GPUs and gloo on
CPUs, shards batches with the bucketing sampler, and checks at every checkpoint that the replicas
still hold identical weights.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import signal
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset

from flowaudio.train.checkpoint import (
    capture_rng,
    checkpoint_path,
    latest_valid_checkpoint,
    prune_checkpoints,
    remove_stale_temporaries,
    restore_rng,
    save_checkpoint,
)
from flowaudio.train.config import TrainConfig
from flowaudio.train.dataset import BucketBatchSampler
from flowaudio.train.optim import EMA, build_optimizer, build_scheduler

logger = logging.getLogger(__name__)

# Consecutive non-finite losses tolerated (the step is skipped) before the run stops.
_MAX_BAD_STEPS = 20
# Steps timed (after the first) for the time and memory estimate logged early in a run.
_PROBE_STEPS = 3


def _forget_metrics_after(path: Path, step: int) -> None:
    """Drop the rows of ``metrics.jsonl`` past ``step``: a resumed run redoes those steps and
    logs them again, and one step must have one row per split. An unreadable line (a kill in
    the middle of a write) is dropped too."""
    if not path.is_file():
        return
    kept, dropped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row_step = json.loads(line)["step"]
        except (ValueError, KeyError, TypeError):
            dropped += 1
            continue
        if isinstance(row_step, int) and row_step <= step:
            kept.append(line)
        else:
            dropped += 1
    if dropped:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        os.replace(tmp, path)
        logger.info("metrics.jsonl: dropped %d row(s) past step %d (redone now)", dropped, step)


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistInfo:
    """Join the process group that torchrun describes in the environment (no-op without it)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(
        rank=int(os.environ["RANK"]),
        world_size=world,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if torch.cuda.is_available():
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend=backend)
    return info


class _Caller(nn.Module):
    """Lets DDP hook any method: ``wrapped("loss", batch)`` runs ``module.loss(batch)``.

    DDP synchronises gradients of what runs inside its ``forward``; our models' training entry
    points are named methods (``loss``), so this adapter routes them through ``forward``.
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.module, method)(*args, **kwargs)


class TrainTask(ABC):
    """What a model brings to the loop: modules, data and one training step."""

    #: Name stored in checkpoints; a run directory only resumes the same task.
    name: str = "task"
    #: Module whose weight average (EMA) is kept, validated and exported.
    ema_module: str = "model"
    #: Passed to DDP: True when some parameters may get no gradient in a step.
    find_unused_parameters: bool = False

    @abstractmethod
    def modules(self) -> dict[str, nn.Module]:
        """Trainable modules by name (checkpoint keys)."""

    def optimizer_groups(self) -> dict[str, list[str]]:
        """Optimiser name -> module names it updates (default: one optimiser per module)."""
        return {name: [name] for name in self.modules()}

    @abstractmethod
    def train_dataset(self) -> Dataset:
        """Training items; must have ``frame_lengths`` (list of frames per item)."""

    def val_dataset(self) -> Dataset | None:
        return None

    @abstractmethod
    def collate(self, items: list[Any]) -> Any:
        """Items -> batch (anything with ``.to(device)``)."""

    @abstractmethod
    def train_step(self, step: int, batch: Any, ctx: StepContext) -> dict[str, float]:
        """Compute losses, call ``ctx.optimize`` per optimiser, return scalar metrics."""

    def validate(self, modules: dict[str, nn.Module], batches: Iterator[Any]) -> dict[str, float]:
        """Validation metrics (modules are in eval mode, EMA weights where kept)."""
        return {}

    def log_samples(
        self, modules: dict[str, nn.Module], dataset: Dataset, writer: Any, step: int, n: int
    ) -> None:
        """Write a few validation samples (mels, audio) to TensorBoard."""
        del modules, dataset, writer, step, n  # nothing to show by default

    def metadata(self) -> dict[str, Any]:
        """Plain data stored in every checkpoint (symbols, speakers, audio config, stats...)."""
        return {}

    def should_stop(self, step: int, val_metrics: dict[str, float]) -> bool:
        """Called after each validation (main process): True ends the run early, with a
        checkpoint (e.g. early stopping on a validation loss)."""
        del step, val_metrics
        return False


@dataclass
class StepContext:
    """What ``TrainTask.train_step`` uses to run modules and apply gradients."""

    device: torch.device
    cfg: TrainConfig
    wrapped: dict[str, nn.Module]
    raw: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    groups: dict[str, list[str]]
    use_bf16: bool
    grad_norms: dict[str, float] = field(default_factory=dict)
    skipped: bool = False

    def call(self, module: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``module.method(*args)`` through DDP when distributed (gradients synchronise)."""
        with self.autocast():
            return self.wrapped[module](method, *args, **kwargs)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.use_bf16:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def optimize(self, name: str, loss: torch.Tensor) -> None:
        """Backward ``loss`` into optimiser ``name``'s modules, clip and step.

        A non-finite loss skips the update (and is counted by the loop) instead of poisoning
        the weights.
        """
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        if not torch.isfinite(loss.detach()):
            self.skipped = True
            return
        loss.backward()
        params = [
            p for m in self.groups[name] for p in self.raw[m].parameters() if p.grad is not None
        ]
        if self.cfg.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
            self.grad_norms[name] = float(norm)
            if not math.isfinite(self.grad_norms[name]):
                opt.zero_grad(set_to_none=True)
                self.skipped = True
                return
        opt.step()


class Trainer:
    """Runs a :class:`TrainTask` into ``run_dir`` (resuming when it holds a checkpoint).

    Args:
        task: the model-specific part.
        cfg: training settings.
        run_dir: where checkpoints, ``metrics.jsonl`` and TensorBoard logs go.
        run_config: the whole resolved config as plain data (stored in every checkpoint).
        progress: show a progress bar (main process only).
    """

    def __init__(
        self,
        task: TrainTask,
        cfg: TrainConfig,
        run_dir: str | Path,
        run_config: dict[str, Any],
        progress: bool = True,
    ):
        self.task = task
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.run_config = run_config
        self.progress = progress
        self.dist = init_distributed()
        if torch.cuda.is_available():
            self.device = torch.device("cuda", self.dist.local_rank)
        else:
            self.device = torch.device("cpu")
        self.use_bf16 = self.device.type == "cuda" and (
            cfg.precision == "bf16" or (cfg.precision == "auto" and torch.cuda.is_bf16_supported())
        )
        _seed_everything(cfg.seed + self.dist.rank)

        self.modules = {name: m.to(self.device) for name, m in task.modules().items()}
        self.groups = task.optimizer_groups()
        self.optimizers = {
            name: build_optimizer((p for m in mods for p in self.modules[m].parameters()), cfg)
            for name, mods in self.groups.items()
        }
        self.schedulers = {n: build_scheduler(o, cfg) for n, o in self.optimizers.items()}
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.wrapped: dict[str, nn.Module] = {
                n: nn.parallel.DistributedDataParallel(
                    _Caller(m),
                    device_ids=ids,
                    find_unused_parameters=task.find_unused_parameters,
                )
                for n, m in self.modules.items()
            }
        else:
            self.wrapped = {n: _Caller(m) for n, m in self.modules.items()}
        self.ema = (
            EMA(self.modules[task.ema_module], cfg.ema_decay)
            if cfg.ema_decay > 0 and task.ema_module in self.modules
            else None
        )

        self.train_data = task.train_dataset()
        self.val_data = task.val_dataset()
        self.sampler = BucketBatchSampler(
            self.train_data.frame_lengths,  # type: ignore[attr-defined]
            cfg.max_frames,
            seed=cfg.seed,
            num_replicas=self.dist.world_size,
            rank=self.dist.rank,
            max_batch_items=cfg.max_batch_items,
        )
        self.loader = DataLoader(
            self.train_data,
            batch_sampler=self.sampler,
            collate_fn=task.collate,
            num_workers=cfg.num_workers,
            pin_memory=self.device.type == "cuda",
            # Each new iterator draws a worker base seed; from its own generator, not the global
            # RNG, or a resumed run (which starts an iterator mid-epoch) would shift the stream.
            generator=torch.Generator().manual_seed(cfg.seed + self.dist.rank),
        )
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self._stop_requested = False
        #: A stop signal (Ctrl-C, SIGTERM) ended the run early; it saved first. Commands exit
        #: with status 130 then, so scripts can tell an interrupted run from a finished one.
        self.interrupted = False
        self._writer: Any = None
        self.resumed_from: Path | None = None
        self._resume_if_possible()
        if self.dist.is_main:
            self._warn_about_settings()

    def _warn_about_settings(self) -> None:
        """Settings that are legal but almost never what anyone meant."""
        cfg = self.cfg
        if cfg.warmup_steps >= cfg.max_steps:
            logger.warning(
                "train.warmup_steps (%d) >= max_steps (%d): the learning rate never reaches "
                "train.lr (%g); lower warmup_steps or raise --max-steps",
                cfg.warmup_steps, cfg.max_steps, cfg.lr,
            )  # fmt: skip
        n_val = len(self.val_data) if self.val_data is not None else 0  # type: ignore[arg-type]
        if n_val == 1:
            logger.warning(
                "the validation split holds one clip: its loss is too noisy to judge the run "
                "by; prepare with a larger data.val_fraction (or more data)"
            )

    # -- checkpoints -----------------------------------------------------------------------

    def _resume_if_possible(self) -> None:
        if self.dist.is_main:
            remove_stale_temporaries(self.run_dir)
        found = latest_valid_checkpoint(self.run_dir)
        if found is None:
            return
        path, state = found
        if state.get("task") != self.task.name:
            raise ValueError(
                f"{self.run_dir} holds a {state.get('task')!r} run, not {self.task.name!r}; "
                "use another --out"
            )
        for name, module in self.modules.items():
            module.load_state_dict(state["modules"][name])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][name])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self.step = int(state["step"])
        self.epoch = int(state["epoch"])
        self.batch_in_epoch = int(state["batch_in_epoch"])
        rngs = state["rng"]
        if len(rngs) == self.dist.world_size:
            restore_rng(rngs[self.dist.rank])
        else:
            logger.warning(
                "checkpoint was written by %d process(es), this run has %d: resuming, but not "
                "bit-exactly (random streams restart)",
                len(rngs),
                self.dist.world_size,
            )
        self.resumed_from = path
        if self.dist.is_main:
            _forget_metrics_after(self.run_dir / "metrics.jsonl", self.step)
            logger.info("resumed from step %d (%s)", self.step, path)

    def save(self) -> Path:
        """Write a checkpoint of the current state (collective under DDP)."""
        rngs = [capture_rng()]
        if self.dist.enabled:
            gathered: list[Any] = [None] * self.dist.world_size
            dist.all_gather_object(gathered, rngs[0])
            rngs = gathered
            self._check_replicas_in_sync()
        path = checkpoint_path(self.run_dir, self.step)
        if self.dist.is_main:
            save_checkpoint(
                path,
                {
                    "task": self.task.name,
                    "config": self.run_config,
                    "metadata": self.task.metadata(),
                    "step": self.step,
                    "epoch": self.epoch,
                    "batch_in_epoch": self.batch_in_epoch,
                    "modules": {n: m.state_dict() for n, m in self.modules.items()},
                    "ema": self.ema.state_dict() if self.ema is not None else None,
                    "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
                    "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                    "rng": rngs,
                },
            )
            prune_checkpoints(self.run_dir, self.cfg.keep_checkpoints)
            logger.info("checkpoint %s", path)
        if self.dist.enabled:
            dist.barrier()
        return path

    def _check_replicas_in_sync(self) -> None:
        total = torch.zeros(1, dtype=torch.float64, device=self.device)
        for module in self.modules.values():
            for p in module.parameters():
                total += p.detach().double().sum()
        gathered = [torch.zeros_like(total) for _ in range(self.dist.world_size)]
        dist.all_gather(gathered, total)
        values = [float(g) for g in gathered]
        if any(v != values[0] for v in values):
            raise RuntimeError(f"DDP replicas diverged: parameter checksums {values}")

    # -- the loop ----------------------------------------------------------------------------

    def fit(self) -> int:
        """Train until ``cfg.max_steps`` (or a stop signal); returns the final step."""
        cfg = self.cfg
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.step >= cfg.max_steps:
            logger.info("run is already at step %d >= max_steps %d", self.step, cfg.max_steps)
            return self.step
        ctx = StepContext(
            device=self.device,
            cfg=cfg,
            wrapped=self.wrapped,
            raw=self.modules,
            optimizers=self.optimizers,
            groups=self.groups,
            use_bf16=self.use_bf16,
        )
        bar = _progress(cfg.max_steps, self.step, self.progress and self.dist.is_main)
        bad_steps = 0
        last_saved = self.step
        started = time.perf_counter()
        probe_started = started
        start_step = self.step
        with _stop_signals(self._request_stop):
            while self.step < cfg.max_steps and not self._stop_requested:
                self.sampler.load_state_dict(
                    {"epoch": self.epoch, "start": self.batch_in_epoch, "seed": cfg.seed}
                )
                for batch in self.loader:
                    self.batch_in_epoch += 1
                    for m in self.modules.values():
                        m.train()
                    ctx.skipped = False
                    ctx.grad_norms = {}
                    metrics = self.task.train_step(self.step, batch.to(self.device), ctx)
                    if ctx.skipped:
                        bad_steps += 1
                        logger.warning(
                            "non-finite loss or gradient at step %d: update skipped", self.step
                        )
                        if bad_steps >= _MAX_BAD_STEPS:
                            self.save()
                            raise RuntimeError(
                                f"{bad_steps} consecutive non-finite steps at step {self.step}: "
                                "lower train.lr or check the data; the last state is saved"
                            )
                    else:
                        bad_steps = 0
                    with warnings.catch_warnings():
                        # the discriminator's schedule advances before its first update (GAN
                        # warm-up) so every optimiser shares one clock; torch warns about that.
                        warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step")
                        for sched in self.schedulers.values():
                            sched.step()
                    if self.ema is not None:
                        self.ema.update(self.modules[self.task.ema_module])
                    self.step += 1
                    bar.update(1)
                    if "loss" in metrics:
                        bar.set_postfix(loss=f"{metrics['loss']:.4f}", refresh=False)
                    if self.step % cfg.log_every == 0 or self.step == start_step + 1:
                        elapsed = max(time.perf_counter() - started, 1e-9)
                        self._log_train(metrics, ctx, (self.step - start_step) / elapsed)
                    if self.step == start_step + _PROBE_STEPS + 1:
                        self._log_estimate(start_step, probe_started)
                    elif self.step == start_step + 1:
                        probe_started = time.perf_counter()
                    if self.step % cfg.val_every == 0:
                        val = self.validate()
                        if self.dist.is_main and val and self.task.should_stop(self.step, val):
                            logger.info("step %d: the task stops the run early", self.step)
                            self._stop_requested = True
                    if self.step % cfg.checkpoint_every == 0:
                        self.save()
                        last_saved = self.step
                    if self._agree_to_stop() or self.step >= cfg.max_steps:
                        break
                else:
                    self.epoch += 1
                    self.batch_in_epoch = 0
        bar.close()
        if self._stop_requested:
            logger.info("stop requested: saving step %d before leaving", self.step)
        elif self.step % cfg.val_every != 0:
            self.validate()
        if last_saved != self.step:
            self.save()
        if self._writer:
            self._writer.flush()
        return self.step

    def _log_estimate(self, start_step: int, probe_started: float) -> None:
        """Time and memory of the whole run from the steps measured so far (the first step,
        which pays for warm-up allocations, is left out)."""
        if not self.dist.is_main:
            return
        per_step = (time.perf_counter() - probe_started) / _PROBE_STEPS
        remaining = self.cfg.max_steps - self.step
        if self.device.type == "cuda":
            memory = torch.cuda.max_memory_allocated(self.device) / 2**30
            where = "GPU memory"
        else:
            import resource

            memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
            where = "resident memory"
        message = (
            f"estimate: {per_step:.2f} s/step over {_PROBE_STEPS} steps -> "
            f"{_hours(per_step * remaining)} for the {remaining} steps left "
            f"(validation and checkpoints extra); peak {where} so far {memory:.2f} GiB"
        )
        logger.info(message)

    def close(self) -> None:
        """Leave the process group (under torchrun); call once when done with the trainer.

        Exiting with a live gloo/NCCL group can abort the process at interpreter shutdown.
        """
        if self._writer:
            self._writer.close()
            self._writer = None
        if self.dist.enabled and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

    def _request_stop(self) -> None:
        self._stop_requested = True
        self.interrupted = True

    def _agree_to_stop(self) -> bool:
        if not self.dist.enabled:
            return self._stop_requested
        flag = torch.tensor([1.0 if self._stop_requested else 0.0], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        self._stop_requested = bool(flag.item() > 0)
        return self._stop_requested

    def eval_modules(self) -> dict[str, nn.Module]:
        """Modules for validation and export: the EMA copy where one is kept."""
        out = dict(self.modules)
        if self.ema is not None:
            out[self.task.ema_module] = self.ema.module
        return out

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if self.dist.is_main and self.val_data is not None and len(self.val_data) > 0:
            modules = self.eval_modules()
            for m in modules.values():
                m.eval()
            batches = (
                self.task.collate([self.val_data[i]]).to(self.device)
                for i in range(len(self.val_data))
            )
            metrics = self.task.validate(modules, batches)
            self._log(metrics, "val")
            writer = self._tensorboard()
            if writer is not None and self.cfg.num_samples > 0:
                self.task.log_samples(
                    modules, self.val_data, writer, self.step, self.cfg.num_samples
                )
        if self.dist.enabled:
            dist.barrier()
        return metrics

    # -- logging -----------------------------------------------------------------------------

    def _tensorboard(self) -> Any:
        if self._writer is None and self.dist.is_main:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is in the train extra; metrics.jsonl still works
                self._writer = False
                return None
            self._writer = SummaryWriter(str(self.run_dir / "tensorboard"))
        return self._writer or None

    def _log_train(self, metrics: dict[str, float], ctx: StepContext, rate: float) -> None:
        lr = next(iter(self.schedulers.values())).get_last_lr()[0]
        grads = {f"grad_norm/{k}": v for k, v in ctx.grad_norms.items()}
        self._log({**metrics, **grads, "lr": lr, "steps_per_s": rate}, "train")

    def _log(self, metrics: dict[str, float], split: str) -> None:
        if not self.dist.is_main or not metrics:
            return
        row = {"step": self.step, "split": split, **{k: float(v) for k, v in metrics.items()}}
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with (self.run_dir / "metrics.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        writer = self._tensorboard()
        if writer is not None:
            for key, value in metrics.items():
                writer.add_scalar(f"{split}/{key}", value, self.step)
        if split == "val":
            logger.info(
                "step %d validation: %s",
                self.step,
                ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()),
            )


def _hours(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _progress(total: int, initial: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="step", disable=not enabled, dynamic_ncols=True)


@contextlib.contextmanager
def _stop_signals(callback: Callable[[], None]) -> Iterator[None]:
    """SIGINT/SIGTERM ask the loop to save and stop; a second Ctrl-C interrupts at once."""
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        callback()
        logger.warning(
            "%s received: finishing this step, saving, then stopping "
            "(press Ctrl-C again to abort without saving)",
            signal.Signals(signum).name,
        )
        signal.signal(signal.SIGINT, signal.default_int_handler)

    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread (e.g. inside some test runners): no handlers
        previous = {}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
