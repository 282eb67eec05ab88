"""Distilling a trained acoustic model into a few-step student (``flowaudio distill``).

The teacher (a trained run or a voice, frozen) samples the training corpus at high quality:
``steps`` Euler steps with classifier-free guidance, from noise x0 = temperature * N(0, I)
drawn per item, conditioned on the prior mean expanded by the monotonic alignment of the item's
recording (so the targets keep the recordings' timing). The states at t = k / K, k = 0..K
(``snapshots`` = K) are cached on disk (:func:`generate_targets`), keyed by the teacher's weights
and these settings, written shard by shard and resumed after a kill.

The student starts as a copy of the teacher and learns to reproduce the guided trajectories
with one conditional pass per step (guidance is folded in: no unconditional pass at
synthesis). Two families, chosen with ``--method``:

``reflow`` (rectified flow on teacher couplings, Liu et al. 2022)
    the straight path between the coupled pair (x0, x1 = teacher sample):
    x_t = (1 - t) x0 + t x1, target u = x1 - x0, t = 0 for a share ``endpoint_prob`` of the
    items (the one-step jump) and t ~ U(0, 1) otherwise. Same network and graph as the teacher.

``interval`` (mean velocity over an interval: MeanFlow-style, supervised by the trajectory)
    the network takes a step size dt (``decoder.dt_input``); on the teacher's own trajectory,
    from snapshot i to snapshot j > i: input x_{t_i}, t = t_i, dt = t_j - t_i, target the mean
    velocity (x_{t_j} - x_{t_i}) / dt. The pair (0, K) (one step) for a share ``endpoint_prob``
    of the items, any i < j otherwise. The dt embedding starts at zero: the student starts equal
    to the teacher.

Both share the duration part: the duration predictor is trained further on the alignment
durations with an utterance-level term ``(log sum_k exp(l_k) - log sum_k d_k)^2`` beside the
per-token MSE of log d: the per-token MSE alone predicts the geometric mean of d, which made the
default voice speak ~6% faster than its teachers once durations were no longer rounded up.
The text encoder and the speaker table stay frozen (the student's velocity network reads the
same prior as the teacher's targets).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from flowaudio.config import ConfigError, to_dict
from flowaudio.data.cache import CacheInfo
from flowaudio.models.alignment import path_from_durations
from flowaudio.models.config import TTSConfig
from flowaudio.models.layers import sequence_mask
from flowaudio.models.tts import FlowTTS
from flowaudio.train.config import DISTILL_PRESETS, DistillRunConfig, TeacherConfig
from flowaudio.train.dataset import TTSDataset, collate
from flowaudio.train.loop import StepContext, Trainer, TrainTask
from flowaudio.train.run import fit_run, resolve_run_config

__all__ = [
    "DistillBatch",
    "DistillTask",
    "TargetSet",
    "distill",
    "generate_targets",
    "targets_key",
]

logger = logging.getLogger(__name__)

SHARD_ITEMS = 64
"""Items per target shard: the unit of resumption while generating."""
TARGETS_FORMAT = 1


# ---------------------------------------------------------------------------------------------
# teacher targets


def model_digest(model: nn.Module) -> str:
    """16 hex digits of a hash of a model's weights (names, shapes and float32 values)."""
    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        tensor = value.detach().float().cpu().contiguous()
        digest.update(f"{key}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()[:16]


def cache_listing_digest(cache_dir: str | Path) -> bytes:
    """A hash of a cache's item list (its train and val index files)."""
    cache = Path(cache_dir)
    listing = hashlib.sha256()
    for split in ("train", "val"):
        index = cache / f"{split}.jsonl"
        if index.is_file():
            listing.update(index.read_bytes())
    return listing.digest()


def targets_key(teacher: FlowTTS, cfg: TeacherConfig, cache_dir: str | Path) -> str:
    """Directory name of the targets of ``teacher`` under ``cfg`` on one cache: a hash of the
    teacher's weights, the generation settings (batching aside: it does not change the
    targets) and the cache's item list."""
    settings = to_dict(cfg)
    settings.pop("max_frames")
    spec = hashlib.sha256(
        json.dumps(settings, sort_keys=True).encode() + cache_listing_digest(cache_dir)
    )
    return f"{model_digest(teacher)}-{spec.hexdigest()[:12]}"


def length_batches(
    order: Sequence[int], lengths: Sequence[int], max_frames: int
) -> list[list[int]]:
    """Consecutive items of ``order`` (sorted by length) packed under ``max_frames`` padded."""
    out: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = max([lengths[j] for j in current] + [lengths[i]])
        if current and longest * (len(current) + 1) > max_frames:
            out.append(current)
            current = []
        current.append(i)
    if current:
        out.append(current)
    return out


@torch.no_grad()
def _sample_batch(
    teacher: FlowTTS, dataset: TTSDataset, indices: list[int], cfg: TeacherConfig, pad: float
) -> list[dict[str, Any]]:
    """Teacher trajectories of some items: their alignment durations and K + 1 snapshots."""
    batch = collate([dataset[i] for i in indices], pad_value=pad)
    durations = teacher.align(batch)  # (B, L): the recordings' timing
    enc = teacher.encode(batch.ids, batch.id_lengths, batch.speakers)
    n_frames = int(batch.mel_lengths.max())
    path = path_from_durations(durations, n_frames).to(enc.mu.dtype)
    mu_frames = torch.bmm(enc.mu, path)
    mask = sequence_mask(batch.mel_lengths, n_frames).unsqueeze(1)
    x = torch.zeros_like(mu_frames)
    for row, index in enumerate(indices):
        gen = torch.Generator().manual_seed(cfg.seed + index)
        n = int(batch.mel_lengths[row])
        x[row, :, :n] = cfg.temperature * torch.randn(teacher.n_mels, n, generator=gen)
    every = cfg.steps // cfg.snapshots
    states = [x.clone()]
    dt = 1.0 / cfg.steps
    for k in range(cfg.steps):
        t = torch.full((), k * dt)
        v = teacher.velocity(x, t, mu_frames, mask, enc.speaker, cfg.guidance_scale)
        x = (x + dt * v) * mask
        if (k + 1) % every == 0:
            states.append(x.clone())
    stacked = torch.stack(states, dim=1)  # (B, K + 1, C, T)
    out = []
    for row, index in enumerate(indices):
        n, n_ids = int(batch.mel_lengths[row]), int(batch.id_lengths[row])
        out.append(
            {
                "index": int(index),
                "id": batch.utt_ids[row],
                "durations": durations[row, :n_ids].to(torch.int16).clone(),
                "states": stacked[row, :, :, :n].to(torch.float16).clone(),
            }
        )
    return out


def generate_targets(
    teacher: FlowTTS,
    cache_dir: str | Path,
    out_dir: str | Path,
    cfg: TeacherConfig,
    splits: Sequence[str] = ("train", "val"),
    progress: bool = True,
) -> Path:
    """Generate (or finish generating) the teacher's targets of ``cache_dir`` into ``out_dir``.

    Items are sorted by length and written in shards of :data:`SHARD_ITEMS` items
    (``{split}_{n:05d}.pt``, atomically); shards already on disk are kept, so a killed run
    resumes where it stopped. ``out_dir/complete.json`` marks a finished split.

    Returns:
        ``out_dir``.
    """
    from tqdm.auto import tqdm

    from flowaudio.train.checkpoint import save_checkpoint

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = CacheInfo.load(cache_dir)
    pad = float(np.log(info.config.audio.log_floor))
    teacher = teacher.float().eval()
    manifest = {"format": TARGETS_FORMAT, "teacher": to_dict(cfg), "splits": {}}
    done_path = out / "complete.json"
    if done_path.is_file():
        manifest = json.loads(done_path.read_text(encoding="utf-8"))
    for split in splits:
        dataset = TTSDataset(cache_dir, split)
        if not len(dataset) or split in manifest["splits"]:
            continue
        lengths = dataset.frame_lengths
        order = sorted(range(len(dataset)), key=lambda i: (lengths[i], i))
        shards = [order[i : i + SHARD_ITEMS] for i in range(0, len(order), SHARD_ITEMS)]
        todo = [s for s in range(len(shards)) if not (out / f"{split}_{s:05d}.pt").is_file()]
        logger.info(
            "teacher targets (%s): %d items in %d shards, %d to generate (%d Euler steps, "
            "guidance %.2f)",
            split, len(order), len(shards), len(todo), cfg.steps, cfg.guidance_scale,
        )  # fmt: skip
        bar = tqdm(total=len(order), initial=(len(shards) - len(todo)) * SHARD_ITEMS,
                   unit="item", desc=f"targets {split}", disable=not progress)  # fmt: skip
        for s in todo:
            items: list[dict[str, Any]] = []
            for group in length_batches(shards[s], lengths, cfg.max_frames):
                items.extend(_sample_batch(teacher, dataset, group, cfg, pad))
                bar.update(len(group))
            save_checkpoint(out / f"{split}_{s:05d}.pt", {"split": split, "items": items})
        bar.close()
        manifest["splits"][split] = {"items": len(order), "shards": len(shards)}
        tmp = out / f".complete.json.tmp{os.getpid()}"
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(tmp, done_path)
    return out


class TargetSet(Dataset):
    """The cached targets of one split, joined with the cache's token ids and speakers.

    Each item: ``ids`` (L,) int64, ``speaker`` int64, ``durations`` (L,) int64 and ``states``
    (K + 1, C, T) float32.
    """

    def __init__(self, targets_dir: str | Path, cache_dir: str | Path, split: str):
        from flowaudio.train.checkpoint import load_checkpoint

        folder = Path(targets_dir)
        done = folder / "complete.json"
        manifest = json.loads(done.read_text(encoding="utf-8")) if done.is_file() else {}
        if split not in manifest.get("splits", {}):
            raise FileNotFoundError(
                f"{folder} holds no finished {split!r} targets; generate them first "
                "(`flowaudio distill` does, and resumes)"
            )
        dataset = TTSDataset(cache_dir, split)
        self.items: list[dict[str, Any]] = []
        for shard in sorted(folder.glob(f"{split}_*.pt")):
            for item in load_checkpoint(shard)["items"]:
                row = dataset.rows[item["index"]]
                if row["id"] != item["id"]:
                    raise ValueError(
                        f"{shard}: item {item['index']} is {item['id']!r} but the cache has "
                        f"{row['id']!r} there: the targets belong to another cache"
                    )
                with np.load(dataset.root / "items" / f"{row['id']}.npz") as npz:
                    ids = torch.from_numpy(npz["ids"].astype(np.int64))
                self.items.append(
                    {
                        "ids": ids,
                        "speaker": torch.tensor(int(row["speaker_id"])),
                        "durations": item["durations"].to(torch.int64),
                        "states": item["states"],
                    }
                )
        if len(self.items) != manifest["splits"][split]["items"]:
            raise ValueError(
                f"{folder}: {len(self.items)} {split} targets on disk, "
                f"{manifest['splits'][split]['items']} expected; delete the folder to regenerate"
            )

    def __len__(self) -> int:
        return len(self.items)

    @property
    def frame_lengths(self) -> list[int]:
        return [int(it["states"].shape[-1]) for it in self.items]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.items[index]
        return {**item, "states": item["states"].float()}


@dataclass
class DistillBatch:
    """Padded targets: ids (B, L), id_lengths (B,), speakers (B,), durations (B, L),
    states (B, K + 1, C, T) and mel_lengths (B,)."""

    ids: Tensor
    id_lengths: Tensor
    speakers: Tensor
    durations: Tensor
    states: Tensor
    mel_lengths: Tensor

    def to(self, device: torch.device | str) -> DistillBatch:
        return DistillBatch(*(getattr(self, f.name).to(device) for f in dataclasses.fields(self)))


def collate_targets(items: Sequence[dict[str, Any]]) -> DistillBatch:
    n = len(items)
    id_lengths = torch.tensor([len(it["ids"]) for it in items])
    mel_lengths = torch.tensor([it["states"].shape[-1] for it in items])
    k1, c = items[0]["states"].shape[:2]
    ids = torch.zeros(n, int(id_lengths.max()), dtype=torch.long)
    durations = torch.zeros_like(ids)
    states = torch.zeros(n, k1, c, int(mel_lengths.max()))
    for i, it in enumerate(items):
        ids[i, : len(it["ids"])] = it["ids"]
        durations[i, : len(it["ids"])] = it["durations"]
        states[i, :, :, : it["states"].shape[-1]] = it["states"]
    speakers = torch.stack([it["speaker"] for it in items])
    return DistillBatch(ids, id_lengths, speakers, durations, states, mel_lengths)


# ---------------------------------------------------------------------------------------------
# the student


def student_config(teacher: TTSConfig, method: str) -> TTSConfig:
    """The teacher's config, with the dt input for an interval student."""
    decoder = dataclasses.replace(teacher.decoder, dt_input=method == "interval")
    return dataclasses.replace(teacher, decoder=decoder)


def _pick_pairs(batch: int, snapshots: int, endpoint_prob: float) -> tuple[Tensor, Tensor]:
    """(B,) snapshot indices i < j: (0, K) with probability ``endpoint_prob``, else uniform.
    Draws from the global RNG, which checkpoints capture: a resumed run draws the same."""
    pairs = torch.tensor(
        [(i, j) for i in range(snapshots + 1) for j in range(i + 1, snapshots + 1)]
    )
    pick = pairs[torch.randint(len(pairs), (batch,))]
    endpoint = torch.rand(batch) < endpoint_prob
    pick[endpoint] = torch.tensor([0, snapshots])
    return pick[:, 0], pick[:, 1]


class DistillTask(TrainTask):
    """A student of a frozen teacher on cached teacher targets."""

    name = "distill"
    ema_module = "model"

    def __init__(
        self,
        cfg: DistillRunConfig,
        teacher: FlowTTS,
        teacher_metadata: dict[str, Any],
        targets_dir: str | Path,
        cache_dir: str | Path,
        provenance: dict[str, Any],
    ):
        self.cfg = cfg
        self.targets_dir = Path(targets_dir)
        self.cache_dir = Path(cache_dir)
        self.teacher_metadata = dict(teacher_metadata)
        self.provenance = dict(provenance)
        self.model = FlowTTS(cfg.model, n_vocab=teacher.n_vocab)
        missing, unexpected = self.model.load_state_dict(teacher.state_dict(), strict=False)
        if unexpected or any(not k.startswith("decoder.dt_mlp.") for k in missing):
            raise ValueError(
                f"the student does not fit the teacher's weights (missing {missing}, "
                f"unexpected {unexpected})"
            )
        for part in (self.model.encoder, self.model.speaker):
            part.requires_grad_(False)
        self.snapshots = cfg.teacher.snapshots

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.model}

    def train_dataset(self) -> TargetSet:
        return TargetSet(self.targets_dir, self.cache_dir, "train")

    def val_dataset(self) -> TargetSet | None:
        try:
            return TargetSet(self.targets_dir, self.cache_dir, "val")
        except FileNotFoundError:
            return None

    def collate(self, items: list[Any]) -> DistillBatch:
        return collate_targets(items)

    def _inputs(
        self, batch: DistillBatch, i: Tensor, j: Tensor
    ) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
        """(x, t, dt or None, target) of the method for snapshot pairs (i, j)."""
        rows = torch.arange(batch.states.shape[0], device=batch.states.device)
        k = float(self.snapshots)
        if self.cfg.distill.method == "reflow":
            x0, x1 = batch.states[:, 0], batch.states[:, -1]
            # t = 0 where the pair is the one-step jump, else uniform along the straight path.
            t = torch.rand(len(rows)).to(x0)
            t = torch.where((i == 0) & (j == self.snapshots), torch.zeros_like(t), t)
            x = (1 - t)[:, None, None] * x0 + t[:, None, None] * x1
            return x, t, None, x1 - x0
        start, end = batch.states[rows, i], batch.states[rows, j]
        t, dt = i.to(start) / k, (j - i).to(start) / k
        return start, t, dt, (end - start) / dt[:, None, None]

    def train_step(self, step: int, batch: DistillBatch, ctx: StepContext) -> dict[str, float]:
        self.model.encoder.eval()  # frozen: no dropout, the prior the targets were made with
        i, j = _pick_pairs(len(batch.ids), self.snapshots, self.cfg.distill.endpoint_prob)
        x, t, dt, target = self._inputs(batch, i.to(batch.ids.device), j.to(batch.ids.device))
        losses = ctx.call(
            "model",
            "target_loss",
            batch.ids,
            batch.id_lengths,
            batch.speakers,
            batch.durations,
            x,
            t,
            target,
            dt,
            self.cfg.distill.duration_weight,
            self.cfg.distill.total_duration_weight,
        )
        ctx.optimize("model", losses.total)
        return {
            "loss": float(losses.total.detach()),
            "flow": float(losses.flow.detach()),
            "duration": float(losses.duration.detach()),
            "total_duration": float(losses.total_duration.detach()),
        }

    def validate(
        self, modules: dict[str, nn.Module], batches: Iterator[DistillBatch]
    ) -> dict[str, float]:
        """One-step error against the teacher's samples (normalised mel units) and the
        duration losses, over the validation targets."""
        model = modules["model"]
        sums = {"one_step_mse": 0.0, "duration": 0.0, "total_duration": 0.0}
        n = 0
        for batch in batches:
            b = len(batch.ids)
            x0, x1 = batch.states[:, 0], batch.states[:, -1]
            dt = torch.ones(b).to(x0) if self.cfg.distill.method == "interval" else None
            losses = model.target_loss(
                batch.ids, batch.id_lengths, batch.speakers, batch.durations,
                x0, torch.zeros(b).to(x0), x1 - x0, dt, 1.0, 1.0,
            )  # fmt: skip
            sums["one_step_mse"] += float(losses.flow)
            sums["duration"] += float(losses.duration)
            sums["total_duration"] += float(losses.total_duration)
            n += 1
        return {k: v / max(n, 1) for k, v in sums.items()}

    def metadata(self) -> dict[str, Any]:
        return {
            **self.teacher_metadata,
            "corpus": str(self.cache_dir.resolve()),  # export keeps only its name
            "n_parameters": self.model.count_parameters(),
            "distillation": {
                "method": self.cfg.distill.method,
                **self.provenance,
                "teacher_settings": to_dict(self.cfg.teacher),
            },
        }


def _check_same_teacher(run_dir: str | Path, key: str) -> None:
    """A student run resumes only with the teacher and targets it started with."""
    from flowaudio.train.checkpoint import latest_checkpoint, load_checkpoint

    found = latest_checkpoint(run_dir)
    if found is None:
        return
    stored = (load_checkpoint(found).get("metadata") or {}).get("distillation") or {}
    if stored.get("targets_key") not in (None, key):
        raise ValueError(
            f"{run_dir} is a student of another teacher or other target settings (targets "
            f"{stored.get('targets_key')}, now {key}); resume it with the teacher it started "
            "with, or choose a new --out"
        )


def distill(
    teacher: FlowTTS,
    teacher_metadata: dict[str, Any],
    teacher_name: str,
    data: str | Path,
    out: str | Path,
    config: str | Path | None = None,
    method: str | None = None,
    max_steps: int | None = None,
    targets: str | Path | None = None,
    progress: bool = True,
) -> Trainer:
    """``flowaudio distill``: targets (generated or reused), then the student, in ``out``.

    Args:
        teacher: the frozen teacher (float32, CPU is fine).
        teacher_metadata: its checkpoint metadata (symbols, speakers, audio, text, mel stats).
        teacher_name: where the teacher came from (a run, a voice), recorded with the student.
        data: the prepared cache the teacher was trained on (same symbols and speakers).
        out: the student's run directory (resumes when it holds a checkpoint).
        config: a preset name or config file (default ``default``).
        method: overrides ``distill.method`` of a new run.
        targets: where the targets live (default ``DATA/teacher-targets/KEY``).
    """
    info = CacheInfo.load(data)
    if list(info.speakers) != list(teacher_metadata["speakers"]):
        raise ValueError(
            f"the cache {data} has speakers {list(info.speakers)}, the teacher "
            f"{list(teacher_metadata['speakers'])}: distil on the teacher's own corpus"
        )
    if info.symbols.to_dict() != teacher_metadata["symbols"]:
        raise ValueError(
            f"the cache {data} uses another symbol table than the teacher: distil on the "
            "teacher's own corpus (prepared with the same text settings)"
        )

    def adapt(cfg: DistillRunConfig) -> DistillRunConfig:
        if method is not None:
            cfg = dataclasses.replace(cfg, distill=dataclasses.replace(cfg.distill, method=method))
        return dataclasses.replace(cfg, model=student_config(teacher.config, cfg.distill.method))

    cfg = resolve_run_config(
        DistillRunConfig, out, config, DISTILL_PRESETS, "default", max_steps, adapt
    )
    if method is not None and method != cfg.distill.method:
        raise ConfigError(
            f"{out} holds a {cfg.distill.method!r} student; resume it without --method "
            f"{method}, or choose a new --out"
        )
    key = targets_key(teacher, cfg.teacher, data)
    _check_same_teacher(out, key)
    target_dir = Path(targets) if targets is not None else Path(data) / "teacher-targets" / key
    generate_targets(teacher, data, target_dir, cfg.teacher, progress=progress)
    task = DistillTask(
        cfg,
        teacher,
        teacher_metadata,
        target_dir,
        data,
        {"teacher": teacher_name, "targets_key": key, "teacher_digest": key.split("-")[0]},
    )
    return fit_run(
        task,
        cfg,
        out,
        progress,
        f"distilling ({cfg.distill.method}) a {task.model.count_parameters() / 1e6:.2f}M "
        f"student from {teacher_name}",
    )
