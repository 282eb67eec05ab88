"""The torch side of a prepared cache: Dataset items, collate, the length-bucketing sampler."""

import math
from collections import Counter

import pytest
import torch

from flowaudio.audio.config import AudioConfig
from flowaudio.data.cache import CacheInfo
from flowaudio.data.config import DataConfig
from flowaudio.data.prepare import prepare_dataset
from flowaudio.train.dataset import BucketBatchSampler, TTSDataset, collate


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    from tests.data.datagen import write_multispeaker

    root = tmp_path_factory.mktemp("ds")
    data = write_multispeaker(root / "multi", speakers=("a", "b", "c"), per=6)
    cfg = DataConfig(audio=AudioConfig(sample_rate=16000), val_fraction=0.2)
    prepare_dataset(data, root / "cache", cfg, workers=1, progress=False)
    return root / "cache"


def test_dataset_items_and_info(cache):
    info = CacheInfo.load(cache)
    assert info.speakers == ("a", "b", "c")
    ds = TTSDataset(cache, "train", with_audio=True)
    val = TTSDataset(cache, "val")
    assert len(ds) + len(val) == 18 and len(val) == 3
    item = ds[0]
    assert item["ids"].dtype == torch.long and item["mel"].shape[0] == 80
    assert item["audio"].shape[0] == item["mel"].shape[1] * 256
    assert item["audio"].abs().max() <= 1.0
    assert "audio" not in val[0]


def test_collate_pads_and_masks(cache):
    ds = TTSDataset(cache, "train", with_audio=True)
    items = [ds[i] for i in range(4)]
    b = collate(items)
    assert b.ids.shape == (4, max(len(it["ids"]) for it in items))
    assert b.mels.shape[:2] == (4, 80)
    assert b.audio.shape == (4, b.mels.shape[2] * 256)
    for i, it in enumerate(items):
        n = it["mel"].shape[1]
        assert torch.equal(b.mels[i, :, :n], it["mel"])
        assert b.mel_mask[i, 0, :n].all() and not b.mel_mask[i, 0, n:].any()
        assert torch.all(b.mels[i, :, n:] == math.log(1e-5))
        assert b.id_mask[i, 0].sum() == len(it["ids"])
    with pytest.raises(ValueError, match="empty batch"):
        collate([])


def test_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="flowaudio prepare"):
        TTSDataset(tmp_path)
    (tmp_path / "config.json").write_text('{"format_version": 0}')
    with pytest.raises(ValueError, match="cache format"):
        TTSDataset(tmp_path)


LENGTHS = [10, 200, 35, 80, 80, 5, 150, 60, 90, 120, 33, 47, 300, 12, 70] * 4


def test_sampler_respects_budget_and_covers_everything():
    s = BucketBatchSampler(LENGTHS, max_frames=400, seed=3)
    batches = list(s)
    assert sorted(i for b in batches for i in b) == list(range(len(LENGTHS)))
    for b in batches:
        assert max(LENGTHS[i] for i in b) * len(b) <= 400
    # similar lengths travel together
    spreads = [max(LENGTHS[i] for i in b) - min(LENGTHS[i] for i in b) for b in batches]
    assert sum(spreads) / len(spreads) < 100


def test_sampler_is_deterministic_per_seed_and_epoch():
    a = BucketBatchSampler(LENGTHS, 400, seed=1)
    b = BucketBatchSampler(LENGTHS, 400, seed=1)
    assert list(a) == list(b)
    b.set_epoch(0)
    a.set_epoch(1)
    assert list(a) != list(b)
    assert list(BucketBatchSampler(LENGTHS, 400, seed=2)) != list(BucketBatchSampler(LENGTHS, 400))


def test_sampler_resume_continues_with_next_batch():
    s = BucketBatchSampler(LENGTHS, 400, seed=5)
    s.set_epoch(2)
    full = list(s)
    s.set_epoch(2)
    it = iter(s)
    head = [next(it) for _ in range(3)]
    state = s.state_dict()
    resumed = BucketBatchSampler(LENGTHS, 400, seed=5)
    resumed.load_state_dict(state)
    assert head + list(resumed) == full
    with pytest.raises(ValueError, match="seed"):
        BucketBatchSampler(LENGTHS, 400, seed=6).load_state_dict(state)


def test_sampler_ddp_shards_evenly():
    shards = [
        list(BucketBatchSampler(LENGTHS, 400, seed=7, num_replicas=2, rank=r)) for r in (0, 1)
    ]
    assert len(shards[0]) == len(shards[1])
    seen = Counter(i for shard in shards for b in shard for i in b)
    assert set(seen) == set(range(len(LENGTHS)))
    with pytest.raises(ValueError, match="rank"):
        BucketBatchSampler(LENGTHS, 400, num_replicas=2, rank=2)


def test_sampler_long_item_gets_own_batch():
    batches = list(BucketBatchSampler([10, 1000, 20], 100, shuffle=False))
    assert [1] in batches
