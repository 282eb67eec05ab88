import json

import numpy as np
import pytest
import soundfile as sf

from flowaudio.audio.mel import log_mel_spectrogram
from flowaudio.config import AudioConfig, DataConfig
from flowaudio.data.prepare import prepare_dataset

from datagen import tone

CFG = DataConfig(audio=AudioConfig(sample_rate=16000), val_fraction=0.2)


def _report(cache):
    lines = (cache / "report.tsv").read_text().splitlines()
    assert lines[0] == "id\tpath\treason"
    return [line.split("\t") for line in lines[1:]]


def test_prepare_multispeaker(multi_dir, tmp_path):
    cache = tmp_path / "cache"
    s = prepare_dataset(multi_dir, cache, CFG, workers=1, progress=False)
    assert s.n_items == 10 and s.n_skipped == 0 and s.n_computed == 10
    assert s.speakers == ("alice", "bob")
    assert (s.n_train, s.n_val) == (8, 2)  # one validation item per speaker
    train = [json.loads(x) for x in (cache / "train.jsonl").read_text().splitlines()]
    val = [json.loads(x) for x in (cache / "val.jsonl").read_text().splitlines()]
    assert {r["speaker"] for r in val} == {"alice", "bob"}
    assert not {r["id"] for r in train} & {r["id"] for r in val}
    stats = json.loads((cache / "stats.json").read_text())
    assert len(stats["mel_mean_per_band"]) == 80 and stats["mel_std"] > 0
    assert set(stats["seconds_by_speaker"]) == {"alice", "bob"}
    # features equal a direct computation on the (resampled, frame-trimmed) audio
    row = train[0]
    with np.load(cache / "items" / f"{row['id']}.npz") as npz:
        mel, audio, ids = npz["mel"], npz["audio"], npz["ids"]
    assert mel.shape == (80, row["n_frames"]) and len(audio) == row["n_frames"] * 256
    ref = log_mel_spectrogram(audio.astype(np.float32) / 32768.0, CFG.audio)
    assert np.abs(ref - mel).max() < 1e-2  # int16 storage of the audio
    assert ids.dtype == np.int32 and len(ids) == row["n_ids"]


def test_prepare_resamples_ljspeech(ljspeech_dir, tmp_path):
    s = prepare_dataset(ljspeech_dir, tmp_path / "c", CFG, workers=1, progress=False)
    assert s.n_items == 6 and s.speakers == ("lj",)
    meta = json.loads((tmp_path / "c" / "items" / "LJ001-0000.json").read_text())
    assert abs(meta["seconds"] - 1.0) < 0.02  # 22.05 kHz source, 16 kHz cache


def test_bad_files_are_reported_and_skipped(multi_dir, tmp_path):
    (multi_dir / "wavs" / "alice" / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    sf.write(multi_dir / "short.wav", tone(0.1, 16000), 16000)
    sf.write(multi_dir / "silent.wav", np.zeros(16000, dtype=np.float32), 16000)
    sf.write(multi_dir / "long.wav", tone(25.0, 16000), 16000)
    extra = [
        "wavs/alice/corrupt.wav|alice|A corrupt file.",
        "wavs/alice/missing.wav|alice|A missing file.",
        "wavs/alice/000.wav|alice|",
        "wavs/alice/001.wav|alice|😀😀",
        "short.wav|bob|Too short.",
        "silent.wav|bob|Nothing to hear.",
        "long.wav|bob|Far too long.",
        "broken line without separators",
    ]
    with (multi_dir / "metadata.csv").open("a") as fh:
        fh.write("\n".join(extra) + "\n")
    s = prepare_dataset(multi_dir, tmp_path / "cache", CFG, workers=2, progress=False)
    assert s.n_items == 10
    report = {row[1].rsplit("/", 1)[-1]: row[2] for row in _report(tmp_path / "cache")}
    assert "unreadable audio" in report["corrupt.wav"]
    assert "missing" in report["missing.wav"]
    assert "too short" in report["short.wav"]
    assert "silent" in report["silent.wav"]
    assert "too long" in report["long.wav"]
    assert any("empty text" in r for r in report.values())
    assert any("unpronounceable" in r for r in report.values())
    assert any("expected 'audio_path|speaker|text'" in r for r in report.values())
    assert s.n_skipped == 8


def test_prepare_is_resumable_and_idempotent(multi_dir, tmp_path):
    cache = tmp_path / "cache"
    first = prepare_dataset(multi_dir, cache, CFG, workers=1, progress=False)
    index = (cache / "train.jsonl").read_bytes()
    # simulate a crash that lost one item, and a new file added to the dataset
    (cache / "items" / "alice_000.json").unlink()
    sf.write(multi_dir / "wavs" / "bob" / "new.wav", tone(1.0, 16000, seed=99), 16000)
    with (multi_dir / "metadata.csv").open("a") as fh:
        fh.write("wavs/bob/new.wav|bob|A brand new sentence.\n")
    second = prepare_dataset(multi_dir, cache, CFG, workers=1, progress=False)
    assert first.n_computed == 10
    assert second.n_computed == 2 and second.n_items == 11
    third = prepare_dataset(multi_dir, cache, CFG, workers=1, progress=False)
    assert third.n_computed == 0
    assert (cache / "train.jsonl").read_bytes() != index  # the new item is indexed


def test_prepare_refuses_a_cache_of_another_config(multi_dir, tmp_path):
    cache = tmp_path / "cache"
    prepare_dataset(multi_dir, cache, CFG, workers=1, progress=False)
    other = DataConfig(audio=AudioConfig(sample_rate=16000, n_mels=64))
    with pytest.raises(ValueError, match="different config"):
        prepare_dataset(multi_dir, cache, other, workers=1, progress=False)
    s = prepare_dataset(multi_dir, cache, other, workers=1, progress=False, overwrite=True)
    assert s.n_computed == 10


def test_all_bad_is_a_clear_error(tmp_path):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "metadata.csv").write_text("audio_path|speaker|text\nx.wav|a|Hello.\n")
    with pytest.raises(ValueError, match="no usable utterances"):
        prepare_dataset(root, tmp_path / "cache", CFG, workers=1, progress=False)
