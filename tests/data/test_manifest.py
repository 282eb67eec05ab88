import pytest

from flowaudio.data.manifest import (
    DatasetFormat,
    detect_format,
    read_csv,
    read_ljspeech,
    read_manifest,
    safe_id,
)


def test_ljspeech_layout(ljspeech_dir):
    m = read_manifest(ljspeech_dir)
    assert m.format is DatasetFormat.LJSPEECH
    assert len(m.utterances) == 6
    first = m.utterances[0]
    assert first.id == "LJ001-0000"
    assert first.audio_path == ljspeech_dir / "wavs" / "LJ001-0000.wav"
    assert first.speaker == "lj"
    assert first.text.startswith("The quick")
    assert m.problems == ()


def test_ljspeech_bad_lines_are_reported_not_fatal(ljspeech_dir):
    meta = ljspeech_dir / "metadata.csv"
    meta.write_text(meta.read_text() + "no-separator-here\nLJ001-0000|dup|dup\n\n")
    m = read_ljspeech(ljspeech_dir)
    assert len(m.utterances) == 6
    reasons = [p.reason for p in m.problems]
    assert any("expected 'id|text" in r for r in reasons)
    assert any("duplicate" in r for r in reasons)
    assert all(":" in p.source for p in m.problems)  # file:line


def test_multispeaker_csv(multi_dir):
    m = read_manifest(multi_dir)
    assert m.format is DatasetFormat.CSV
    assert m.speakers == ("alice", "bob")
    assert len(m.utterances) == 10
    assert len({u.id for u in m.utterances}) == 10  # 000.wav exists for both speakers
    assert all(u.audio_path.is_absolute() and u.audio_path.exists() for u in m.utterances)
    # the CSV file itself works too
    assert len(read_csv(multi_dir / "metadata.csv").utterances) == 10


def test_csv_wrong_field_count_reported(multi_dir):
    meta = multi_dir / "metadata.csv"
    meta.write_text(meta.read_text() + "only|two\n|spk|text\n")
    m = read_csv(multi_dir)
    assert len(m.utterances) == 10
    assert len(m.problems) == 2


def test_detect_format_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no metadata\.csv"):
        detect_format(tmp_path)
    (tmp_path / "metadata.csv").write_text("just some words\n")
    with pytest.raises(ValueError, match="--format"):
        detect_format(tmp_path)
    with pytest.raises(FileNotFoundError, match="not found"):
        read_manifest(tmp_path / "missing")


def test_safe_id():
    assert safe_id("a/b c.wav") == "a_b_c.wav"
    assert safe_id("../..") == "utt"
    assert safe_id("en-us+f3_001") == "en-us+f3_001"


def test_folder_of_wav_and_txt_pairs(tmp_path):
    folder = tmp_path / "my voice"
    folder.mkdir()
    for name, text in (("b", "Second clip."), ("a", "First clip.\n")):
        (folder / f"{name}.wav").write_bytes(b"")  # audio is opened by prepare, not here
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    (folder / "orphan.wav").write_bytes(b"")
    assert detect_format(folder) is DatasetFormat.FOLDER
    m = read_manifest(folder)
    assert [(u.id, u.speaker, u.text) for u in m.utterances] == [
        ("a", "my_voice", "First clip."),
        ("b", "my_voice", "Second clip."),
    ]
    assert len(m.problems) == 1 and "orphan.txt" in m.problems[0].reason
    assert read_manifest(folder, speaker="me").speakers == ("me",)
