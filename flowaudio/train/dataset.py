"""Training-side access to a prepared cache: Dataset, collate and a length-bucketing sampler.

The cache's own description (:class:`~flowaudio.data.cache.CacheInfo`) is torch-free and lives
with the data tools; this module is the torch side of reading it.

Shapes: B batch, L token ids, C mel bands, T frames, S = T * hop samples.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from flowaudio.data.cache import CacheInfo
from flowaudio.models.batch import TTSBatch

logger = logging.getLogger(__name__)


class TTSDataset(Dataset):
    """Utterances of one split of a prepared cache.

    Each item is a dict: ``id`` (str), ``ids`` (L,) int64, ``mel`` (C, T) float32,
    ``speaker`` int64 scalar and, with ``with_audio``, ``audio`` (S,) float32 in [-1, 1].

    Args:
        root: cache directory written by ``flowaudio prepare``.
        split: ``train`` or ``val``.
        with_audio: also load the waveform (vocoder training).
    """

    def __init__(self, root: str | Path, split: str = "train", with_audio: bool = False):
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        self.info = CacheInfo.load(root)
        self.root = Path(root)
        self.split = split
        self.with_audio = with_audio
        index = self.root / f"{split}.jsonl"
        self.rows: list[dict[str, Any]] = [
            json.loads(line)
            for line in index.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def frame_lengths(self) -> list[int]:
        """Mel frames per item, for length bucketing."""
        return [int(r["n_frames"]) for r in self.rows]

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rows[index]
        with np.load(self.root / "items" / f"{row['id']}.npz", allow_pickle=False) as npz:
            item: dict[str, Any] = {
                "id": row["id"],
                "ids": torch.from_numpy(npz["ids"].astype(np.int64)),
                "mel": torch.from_numpy(npz["mel"].astype(np.float32)),
                "speaker": torch.tensor(int(row["speaker_id"]), dtype=torch.long),
            }
            if self.with_audio:
                item["audio"] = torch.from_numpy(npz["audio"].astype(np.float32) / 32768.0)
        return item


@dataclass
class Batch(TTSBatch):
    """A padded training batch: the model's :class:`~flowaudio.models.batch.TTSBatch` plus
    what only training carries.

    Attributes:
        utt_ids: item names, length B.
        audio: (B, S) waveforms padded with zeros, or None.
    """

    utt_ids: list[str]
    audio: torch.Tensor | None = None


def collate(items: Sequence[dict[str, Any]], pad_value: float = math.log(1e-5)) -> Batch:
    """Pad a list of dataset items into a :class:`Batch`.

    Mels are padded with ``pad_value`` (the log floor, i.e. silence) rather than zeros, so a
    padded region looks like silence to any code that forgets the mask.
    """
    if not items:
        raise ValueError("cannot collate an empty batch")
    n = len(items)
    id_lengths = torch.tensor([len(it["ids"]) for it in items], dtype=torch.long)
    mel_lengths = torch.tensor([it["mel"].shape[1] for it in items], dtype=torch.long)
    n_mels = items[0]["mel"].shape[0]
    ids = torch.zeros(n, int(id_lengths.max()), dtype=torch.long)
    mels = torch.full((n, n_mels, int(mel_lengths.max())), pad_value, dtype=torch.float32)
    for i, it in enumerate(items):
        ids[i, : len(it["ids"])] = it["ids"]
        mels[i, :, : it["mel"].shape[1]] = it["mel"]
    audio = None
    if "audio" in items[0]:
        audio_lengths = [len(it["audio"]) for it in items]
        audio = torch.zeros(n, max(audio_lengths))
        for i, it in enumerate(items):
            audio[i, : len(it["audio"])] = it["audio"]
    return Batch(
        utt_ids=[it["id"] for it in items],
        ids=ids,
        id_lengths=id_lengths,
        mels=mels,
        mel_lengths=mel_lengths,
        speakers=torch.stack([it["speaker"] for it in items]),
        audio=audio,
    )


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar length, bounded by padded frames, deterministic for (seed, epoch).

    Each epoch: shuffle all indices with ``Random(seed + epoch)``, cut them into pools of
    ``pool_batches`` batches' worth of items, sort each pool by length, pack batches greedily so
    that ``max(len) * count <= max_frames``, then shuffle the batch order. With several replicas
    (DDP) the batch list is padded by repetition to a multiple of ``num_replicas`` and replica
    ``rank`` takes every ``num_replicas``-th batch, so every rank runs the same number of steps.

    ``state_dict()`` / ``load_state_dict()`` give the exact position (epoch, batches consumed),
    so a resumed run continues with the very next batch.

    Args:
        lengths: frames per item.
        max_frames: upper bound on padded frames per batch (an item longer than this gets a
            batch of its own, with a warning).
        seed: base seed.
        shuffle: shuffle (training); False keeps a fixed length-sorted order (validation).
        num_replicas, rank: DDP world size and this process's rank.
        pool_batches: how many batches' worth of items are sorted together.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        max_frames: int,
        *,
        seed: int = 0,
        shuffle: bool = True,
        num_replicas: int = 1,
        rank: int = 0,
        pool_batches: int = 50,
        max_batch_items: int | None = None,
    ):
        if max_frames <= 0:
            raise ValueError(f"max_frames must be positive, got {max_frames}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, {num_replicas}), got {rank}")
        if not lengths:
            raise ValueError("cannot sample batches from an empty dataset")
        self.lengths = [int(x) for x in lengths]
        self.max_frames = max_frames
        self.seed = seed
        self.shuffle = shuffle
        self.num_replicas = num_replicas
        self.rank = rank
        self.pool_batches = pool_batches
        self.max_batch_items = max_batch_items
        self.epoch = 0
        self._start = 0  # batches of the current epoch already consumed (resume)
        too_long = [i for i, n in enumerate(self.lengths) if n > max_frames]
        if too_long:
            logger.warning(
                "%d item(s) are longer than max_frames=%d and get batches of their own",
                len(too_long),
                max_frames,
            )

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (the shuffle) and restart from its first batch."""
        self.epoch = epoch
        self._start = 0

    def _all_batches(self) -> list[list[int]]:
        order = list(range(len(self.lengths)))
        rng = random.Random(self.seed + self.epoch)
        if self.shuffle:
            rng.shuffle(order)
            mean_len = sum(self.lengths) / len(self.lengths)
            pool = max(1, int(self.pool_batches * self.max_frames / max(mean_len, 1.0)))
        else:
            pool = len(order)
        batches: list[list[int]] = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=lambda i: (self.lengths[i], i))
            batches.extend(self._pack(chunk))
        if self.shuffle:
            rng.shuffle(batches)
        if self.num_replicas > 1:
            pad = (-len(batches)) % self.num_replicas
            batches.extend(batches[:pad])
            batches = batches[self.rank :: self.num_replicas]
        return batches

    def _pack(self, sorted_idx: list[int]) -> list[list[int]]:
        batches: list[list[int]] = []
        cur: list[int] = []
        cur_max = 0
        for i in sorted_idx:
            new_max = max(cur_max, self.lengths[i])
            full = self.max_batch_items is not None and len(cur) >= self.max_batch_items
            if cur and (new_max * (len(cur) + 1) > self.max_frames or full):
                batches.append(cur)
                cur, new_max = [], self.lengths[i]
            cur.append(i)
            cur_max = new_max
        if cur:
            batches.append(cur)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._all_batches()
        start = self._start
        for k in range(start, len(batches)):
            self._start = k + 1
            yield batches[k]
        # A finished epoch rolls over to the next one, so the state is exact at boundaries too.
        self.epoch += 1
        self._start = 0

    def __len__(self) -> int:
        return len(self._all_batches())

    def state_dict(self) -> dict[str, int]:
        """Position to resume from: the epoch and how many of its batches were consumed."""
        return {"epoch": self.epoch, "start": self._start, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state.get("seed", self.seed) != self.seed:
            raise ValueError(
                f"sampler state was saved with seed {state.get('seed')}, this sampler uses "
                f"{self.seed}; resume with the same config"
            )
        self.epoch = int(state["epoch"])
        self._start = int(state["start"])
