import json

import numpy as np
import pytest
import soundfile as sf
from datagen import tone

from flowaudio.audio.config import AudioConfig
from flowaudio.audio.mel import log_mel_spectrogram
from flowaudio.data.config import DataConfig
from flowaudio.data.prepare import prepare_dataset

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
    assert abs(meta["seconds"] - 2.5) < 0.02  # 22.05 kHz source, 16 kHz cache


def test_bad_files_are_reported_and_skipped(multi_dir, tmp_path):
    (multi_dir / "wavs" / "alice" / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    sf.write(multi_dir / "short.wav", tone(0.1, 16000), 16000)
    sf.write(multi_dir / "silent.wav", np.zeros(16000, dtype=np.float32), 16000)
    sf.write(multi_dir / "long.wav", tone(25.0, 16000), 16000)
    sf.write(multi_dir / "fast.wav", tone(0.8, 16000), 16000)
    extra = [
        "wavs/alice/corrupt.wav|alice|A corrupt file.",
        "wavs/alice/missing.wav|alice|A missing file.",
        "wavs/alice/000.wav|alice|",
        "wavs/alice/001.wav|alice|😀😀",
        "short.wav|bob|Too short.",
        "silent.wav|bob|Nothing to hear.",
        "long.wav|bob|Far too long.",
        "fast.wav|bob|Far more words than anybody could ever say in less than one second.",
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
    assert "faster than one mel frame per token" in report["fast.wav"]
    assert any("empty text" in r for r in report.values())
    assert any("unpronounceable" in r for r in report.values())
    assert any("expected 'audio_path|speaker|text'" in r for r in report.values())
    assert s.n_skipped == 9


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


def test_hostile_rows_are_reported_skipped_or_repaired(multi_dir, tmp_path):
    sr = 16000
    # a float WAV never scaled to [-1, 1]
    sf.write(multi_dir / "loud.wav", tone(1.0, sr, seed=5) * 1e6, sr, subtype="FLOAT")
    # a WAV cut in half (libsndfile would read the first half without a word)
    sf.write(multi_dir / "whole.wav", tone(1.2, sr, seed=6), sr)
    data = (multi_dir / "whole.wav").read_bytes()
    (multi_dir / "half.wav").write_bytes(data[: len(data) // 2])
    # the same audio listed twice with different transcripts, and once more with the same one
    same = multi_dir / "wavs" / "alice" / "000.wav"
    (multi_dir / "copy.wav").write_bytes(same.read_bytes())
    rows = [
        "loud.wav|bob|A float file at full blast.",
        "half.wav|bob|A file cut in half.",
        "copy.wav|alice|A different transcript for the same audio.",
        "bad\x00path.wav|bob|A NUL byte in the path.",
    ]
    lines = (multi_dir / "metadata.csv").read_text(encoding="utf-8").splitlines()
    lines += [*rows, next(x for x in lines if x.startswith("wavs/bob/001.wav"))]  # listed twice
    # a Latin-1 file: its accented word must survive
    lines.append("wavs/bob/002.wav|bob|Un café, s'il vous plaît.")
    lines.remove(next(x for x in lines if x.startswith("wavs/bob/002.wav|bob|") and "caf" not in x))
    (multi_dir / "metadata.csv").write_bytes("\n".join(lines).encode("latin-1") + b"\n")

    s = prepare_dataset(multi_dir, tmp_path / "cache", CFG, workers=1, progress=False)
    report = _report(tmp_path / "cache")
    reasons = {row[1].rsplit("/", 1)[-1]: row[2] for row in report}
    assert "far outside [-1, 1]" in reasons["loud.wav"]
    assert "truncated audio" in reasons["half.wav"]
    assert "different transcripts" in reasons["copy.wav"] and "different" in reasons["000.wav"]
    assert any("listed twice" in row[2] for row in report)
    assert any("NUL byte" in row[2] for row in report)
    assert any(row[2].startswith("kept, not UTF-8") for row in report)
    item = json.loads((tmp_path / "cache" / "items" / "bob_002.json").read_text("utf-8"))
    assert item["text"] == "Un café, s'il vous plaît."  # not "caf"
    # 10 clips: alice_000 (and its copy) out, bob_001 once
    assert s.n_items == 9 and s.n_skipped == 6
    stats = json.loads((tmp_path / "cache" / "stats.json").read_text())
    assert stats["excluded_from_stats"] == []


def test_utf16_manifest_is_read_not_fatal(ljspeech_dir, tmp_path):
    metadata = ljspeech_dir / "metadata.csv"
    metadata.write_bytes(metadata.read_text(encoding="utf-8").encode("utf-16"))
    s = prepare_dataset(ljspeech_dir, tmp_path / "c", CFG, workers=1, progress=False)
    assert s.n_items == 6
    assert any("read as utf-16" in row[2] for row in _report(tmp_path / "c"))


def test_one_bad_clip_cannot_move_the_statistics(tmp_path):
    from flowaudio.data.prepare import compute_stats

    rng = np.random.default_rng(0)
    metas = []
    for i in range(12):
        mel = (-5.0 + 2.0 * rng.standard_normal((80, 100))).astype(np.float32)
        if i == 7:  # the mel of a float WAV at 1e6: every bin near log(1e12)
            mel = np.full((80, 300), 27.6, dtype=np.float32)
        np.savez(tmp_path / f"u{i}.npz", mel=mel)
        metas.append({"id": f"u{i}", "speaker": "s", "seconds": 1.0})
    stats = compute_stats(tmp_path, metas, CFG)
    assert stats["excluded_from_stats"] == ["u7"]
    assert abs(stats["mel_mean"] - -5.0) < 0.05 and abs(stats["mel_std"] - 2.0) < 0.05
