"""Teacher-voice corpus builder, against the real flite and espeak-ng programs."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from flowaudio.data import corpus
from flowaudio.data.corpus import (
    DEFAULT_VOICE_RECIPE,
    EngineNotFoundError,
    TeacherVoice,
    build_corpus,
    load_sentences,
    parse_voice,
    render,
)
from flowaudio.version import __version__

# Sixteen clean sentences: enough for 2 voices x 6 training + 2 held-out, all distinct.
CLEAN = [
    "The quick brown fox jumps over the lazy dog.",
    "A journey of a thousand miles begins with a single step.",
    "Rain is expected in the northern hills by the evening.",
    "She opened the window and let the cool air in.",
    "Every morning the baker lights the oven before dawn.",
    "Is there anything more relaxing than a quiet lake?",
    "The old clock in the hall has stopped again.",
    "We walked along the river until the sun went down.",
    "Please remember to water the plants on Thursday.",
    "The library will be closed for repairs next week.",
    "He found a small key hidden under the doormat.",
    "Nobody expected the concert to end so early!",
    "The children built a tall tower out of wooden blocks.",
    "Our neighbour keeps bees in the garden behind the house.",
    "The train to the coast leaves from the second platform.",
    "Fresh bread and warm soup make a fine winter supper.",
]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Voices
# --------------------------------------------------------------------------------------------


def test_parse_voice_valid_specs() -> None:
    slt = parse_voice("flite:slt")
    assert slt == TeacherVoice(engine="flite", voice="slt")
    assert (slt.spec, slt.speaker) == ("flite:slt", "slt")
    assert parse_voice(" flite:kal16 ").spec == "flite:kal16"
    f3 = parse_voice("espeak:en-us+f3")
    assert (f3.engine, f3.voice, f3.speaker, f3.spec) == (
        "espeak",
        "en-us+f3",
        "en-us+f3",
        "espeak:en-us+f3",
    )
    assert parse_voice("espeak-ng:en-gb") == TeacherVoice(engine="espeak", voice="en-gb")
    assert TeacherVoice(engine="espeak", voice="gmw/en-US").speaker == "gmw_en-US"


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("slt", "engine:voice"),
        ("festival:slt", "flite, espeak, espeak-ng"),
        ("flite:", "non-empty"),
        ("flite:nosuch", "kal, awb_time, kal16, awb, rms, slt"),
        ("espeak:xx-nope", "espeak-ng --voices"),
        ("espeak:en-us+nope", "--voices=variant"),
    ],
)
def test_parse_voice_rejects_bad_specs(spec: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=r"valid|bad|unknown") as info:
        parse_voice(spec)
    assert fragment in str(info.value)
    assert repr(spec) in str(info.value) or repr(spec.partition(":")[0]) in str(info.value)


def test_teacher_voice_rejects_unknown_engine() -> None:
    with pytest.raises(ValueError, match="festival"):
        TeacherVoice(engine="festival", voice="slt")


def test_missing_engine_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    flite_fix = r"flite is not installed: install the Debian package with `apt-get install flite`"
    with pytest.raises(EngineNotFoundError, match=flite_fix.replace("`", "\\`")):
        parse_voice("flite:slt")
    with pytest.raises(EngineNotFoundError, match="apt-get install espeak-ng"):
        render(TeacherVoice("espeak", "en-us"), "Hello there.", tmp_path / "a.wav")
    sentences = _write(tmp_path / "s.txt", CLEAN)
    with pytest.raises(EngineNotFoundError, match="apt-get install flite"):
        build_corpus(tmp_path / "c", ["flite:slt"], sentences, per_voice=1, heldout=1)
    assert not (tmp_path / "c").exists()


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ("flite:slt", "-o outside -voice kal is not an option, said the forecaster."),
        ("flite:kal16", "--version"),
        ("espeak:en-us+f3", "--help me, she said, -v is only a letter."),
    ],
)
def test_render_text_starting_with_dash(tmp_path: Path, spec: str, text: str) -> None:
    out = tmp_path / "wavs" / "clip.wav"
    render(parse_voice(spec), text, out)
    info = sf.info(str(out))
    assert info.frames > 0
    assert info.duration > 0.5  # the words were spoken, not an option's output
    # Only the clip: no file named after an "option" and no leftover temporary file.
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["clip.wav"]


def test_espeak_voice_renders(tmp_path: Path) -> None:
    out = tmp_path / "e.wav"
    render(parse_voice("espeak:en-us+f3"), "The espeak voice speaks too.", out)
    info = sf.info(str(out))
    assert info.frames > 0
    assert info.samplerate == 22050


def test_render_failure_carries_stderr(tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    with pytest.raises(RuntimeError, match="does not exist"):
        render(TeacherVoice("espeak", "xx-nope"), "Hello there.", out)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="empty"):
        render(parse_voice("flite:slt"), "  ", out)


# --------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------


def test_load_sentences_cleans_a_messy_text_file(tmp_path: Path) -> None:
    messy = [
        "The first line is a perfectly good sentence.",
        "",
        "Visit http://example.com for more information about this offer.",
        "Go to www.example.org and read all the news there.",
        "THE FIRST LINE IS A PERFECTLY GOOD SENTENCE.",  # duplicate (and shouting)
        "the first line is a perfectly good sentence.",  # duplicate, case-insensitively
        "It is short.",
        "A pipe | in the middle of this sentence is not allowed.",
        "Ça va très bien, merci beaucoup mon ami, et vous?",
        "THIS LINE IS SHOUTING AT YOU FOR NO GOOD REASON AT ALL.",
        "The numbers 1234 5678 9012 3456 are in this line of text.",
        "\t\t-- Mark Twain",
        "-- Anonymous, on the internet",
        "int main() { return foo::bar(x) + 1; }",
        "Namespaces like std::vector are code in the text.",
        "Curly \u201cquotes\u201d are fine when they\u2019re balanced in the line.",
        '"A whole quotation is unwrapped by the cleaner."',
        "This line ends with a letter and gets a period",
        "A line with a tab\tin it is tabular data, so it goes.",
        "Aliquid melius quam pessimum optimum non est.",
        "This line ends with a comma, which is not an ending,",
        "An unbalanced (bracket is dropped by the cleaner.",
        "Long paragraphs are split into sentences at their boundaries. "
        "Mr. Smith did not expect that the second one would stay whole! "
        "Would the third one survive the cleaning as well? "
        "It should, because each of them is short enough on its own.",
        "x" * 30 + " " + "word " * 40 + "and a very long sentence without any end.",
    ]
    got = load_sentences(_write(tmp_path / "messy.txt", messy))
    assert got == [
        "The first line is a perfectly good sentence.",
        'Curly "quotes" are fine when they\'re balanced in the line.',
        "A whole quotation is unwrapped by the cleaner.",
        "This line ends with a letter and gets a period.",
        "Long paragraphs are split into sentences at their boundaries.",
        "Mr. Smith did not expect that the second one would stay whole!",
        "Would the third one survive the cleaning as well?",
        "It should, because each of them is short enough on its own.",
    ]
    # The length limits are respected and configurable.
    short = load_sentences(tmp_path / "messy.txt", min_chars=10, max_chars=50)
    assert "It is short." in short
    assert all(10 <= len(s) <= 50 for s in short)


def test_raw_text_splitting_keeps_initials_and_abbreviations(tmp_path: Path) -> None:
    # Raw text, unlike the normalised text of flowaudio.text.sentences: "G. B." and "Dr." are
    # not sentence ends here.
    paragraph = (
        "G. B. Shaw wrote to a young friend that he should go on writing plays for the stage. "
        "The letter was read aloud by Dr. Watson to everybody who came to the club that night. "
        "Nobody in the room said a word."
    )
    assert load_sentences(_write(tmp_path / "p.txt", [paragraph])) == [
        "G. B. Shaw wrote to a young friend that he should go on writing plays for the stage.",
        "The letter was read aloud by Dr. Watson to everybody who came to the club that night.",
        "Nobody in the room said a word.",
    ]


def test_load_sentences_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        load_sentences(tmp_path / "nope.txt")
    with pytest.raises(ValueError, match="min_chars"):
        load_sentences("fortunes", min_chars=50, max_chars=10)
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 au lait is a fine drink.\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        load_sentences(tmp_path / "latin1.txt")
    monkeypatch.setattr(corpus.sentences, "FORTUNES_DIR", tmp_path / "no-fortunes")
    with pytest.raises(FileNotFoundError, match="apt-get install fortunes"):
        load_sentences("fortunes")


def test_load_sentences_fortunes() -> None:
    got = load_sentences("fortunes")
    assert len(got) > 1000
    assert all(20 <= len(s) <= 180 for s in got)
    assert len({s.lower() for s in got}) == len(got)
    assert all("|" not in s and "\n" not in s and s.isascii() for s in got)
    assert all(s[-1] in ".!?" for s in got)


def test_fortune_entries_drop_attributions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fortunes = tmp_path / "fortunes"
    (fortunes / "off").mkdir(parents=True)
    (fortunes / "quotes").write_text(
        "Whenever people agree with me I always feel\n"
        "I must be wrong.\n"
        "\t\t-- Oscar Wilde\n"
        "%\n"
        "The first quotation of a pair is kept.\n"
        '\t\t-- Somebody, "A Book",\n'
        "\t\t   Volume Two\n"
        "The second quotation of a pair is kept too.\n"
        "\t\t-- Somebody Else\n"
        "%\n",
        encoding="utf-8",
    )
    (fortunes / "quotes.dat").write_bytes(b"\x00\x01binary index that must be ignored")
    (fortunes / "off" / "rude").write_text("This offensive line must not be read.\n%\n")
    monkeypatch.setattr(corpus.sentences, "FORTUNES_DIR", fortunes)
    assert load_sentences("fortunes") == [
        "Whenever people agree with me I always feel I must be wrong.",
        "The first quotation of a pair is kept.",
        "The second quotation of a pair is kept too.",
    ]


# --------------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------------

VOICES = ["flite:slt", "flite:kal16"]


def _read_csv(path: Path) -> list[list[str]]:
    return [line.split("|") for line in path.read_text(encoding="utf-8").splitlines()]


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*.wav")}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, corpus.CorpusSummary]:
    root = tmp_path_factory.mktemp("corpus")
    sentences = _write(root / "sentences.txt", CLEAN)
    summary = build_corpus(
        root / "out", VOICES, sentences, per_voice=6, heldout=2, seed=7, progress=False
    )
    return root, summary


def test_build_corpus_layout(built: tuple[Path, corpus.CorpusSummary]) -> None:
    root, summary = built
    out = root / "out"
    assert summary.out_dir == out
    assert summary.voices == ("flite:slt", "flite:kal16")
    assert (summary.n_train, summary.n_heldout, summary.failed) == (12, 4, ())
    assert not (out / "failed.tsv").exists()

    train, held = _read_csv(out / "metadata.csv"), _read_csv(out / "heldout.csv")
    assert train[0] == held[0] == ["audio_path", "speaker", "text"]
    train, held = train[1:], held[1:]
    assert len(train) == 12
    assert len(held) == 4
    assert train == sorted(train)
    for path, speaker, text in train:
        assert path.startswith(f"wavs/{speaker}/{speaker}_")
        assert text in CLEAN
    assert {r[0] for r in train} >= {"wavs/slt/slt_00000.wav", "wavs/kal16/kal16_00005.wav"}
    assert {r[0] for r in held} == {
        f"wavs/{s}/{s}_heldout_0000{i}.wav" for s in ("slt", "kal16") for i in (0, 1)
    }

    by_speaker = {s: [r[2] for r in train if r[1] == s] for s in ("slt", "kal16")}
    held_by_speaker = {s: [r[2] for r in held if r[1] == s] for s in ("slt", "kal16")}
    assert held_by_speaker["slt"] == held_by_speaker["kal16"]  # shared held-out set
    held_texts = set(held_by_speaker["slt"])
    assert len(held_texts) == 2
    assert not held_texts & {r[2] for r in train}  # disjoint from training
    # The pool (14 sentences) is large enough: every voice says different sentences.
    assert len(set(by_speaker["slt"])) == 6
    assert not set(by_speaker["slt"]) & set(by_speaker["kal16"])

    for path, _, _ in train + held:
        info = sf.info(str(out / path))
        assert info.samplerate == 16000
        assert info.frames > 0
    assert set(summary.seconds_by_speaker) == {"slt", "kal16"}
    assert all(s > 5 for s in summary.seconds_by_speaker.values())
    assert summary.total_seconds == pytest.approx(sum(summary.seconds_by_speaker.values()))

    meta = json.loads((out / "corpus.json").read_text())
    assert meta["recipe"] == {
        "voices": VOICES,
        "sentences": str(root / "sentences.txt"),
        "per_voice": 6,
        "heldout": 2,
        "seed": 7,
    }
    assert "flite" in meta["engines"]["flite"]
    assert (meta["n_train"], meta["n_heldout"]) == (12, 4)
    assert meta["flowaudio_version"] == __version__
    assert meta["total_hours"] == pytest.approx(summary.total_seconds / 3600, abs=1e-3)
    assert meta["speakers"]["kal16"]["sample_rates"] == [16000]
    # No stray temporary files.
    assert not [p for p in out.rglob(".*") if p.is_file()]


def test_build_corpus_is_deterministic_and_resumable(
    built: tuple[Path, corpus.CorpusSummary], tmp_path: Path
) -> None:
    root, _ = built
    out = tmp_path / "out"
    shutil.copytree(root / "out", out)  # copy2 keeps the mtimes
    before_csv = {n: (out / n).read_bytes() for n in ("metadata.csv", "heldout.csv")}
    before = _mtimes(out)

    # Same arguments: byte-identical CSVs, nothing rendered again.
    again = build_corpus(
        out, VOICES, root / "sentences.txt", per_voice=6, heldout=2, seed=7, progress=False
    )
    assert (again.n_train, again.n_heldout) == (12, 4)
    assert {n: (out / n).read_bytes() for n in before_csv} == before_csv
    assert _mtimes(out) == before
    assert json.loads((out / "corpus.json").read_text())["build"]["rendered"] == 0

    # A lost clip is rendered again, and only that one.
    lost = "wavs/kal16/kal16_00003.wav"
    (out / lost).unlink()
    build_corpus(
        out, VOICES, root / "sentences.txt", per_voice=6, heldout=2, seed=7, progress=False
    )
    after = _mtimes(out)
    assert set(after) == set(before)
    assert [k for k in after if after[k] != before[k]] == [lost]
    assert {n: (out / n).read_bytes() for n in before_csv} == before_csv


def test_changed_seed_re_renders_stale_clips(tmp_path: Path) -> None:
    sentences = _write(tmp_path / "s.txt", CLEAN)
    out = tmp_path / "out"

    def texts() -> dict[str, str]:
        rows = _read_csv(out / "metadata.csv")[1:] + _read_csv(out / "heldout.csv")[1:]
        return {r[0]: r[2] for r in rows}

    build_corpus(out, ["flite:kal16"], sentences, per_voice=4, heldout=1, seed=1, progress=False)
    first, first_mtimes = texts(), _mtimes(out)
    build_corpus(out, ["flite:kal16"], sentences, per_voice=4, heldout=1, seed=2, progress=False)
    second, second_mtimes = texts(), _mtimes(out)
    assert set(first) == set(second)
    assert first != second
    for path in first:  # a wav is rendered again exactly when its sentence changed
        assert (first_mtimes[path] != second_mtimes[path]) == (first[path] != second[path])


def test_small_pool_wraps_around_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sentences = _write(tmp_path / "s.txt", CLEAN[:5])
    voices = ["flite:kal16", "espeak:en-us+f3"]
    with caplog.at_level(logging.WARNING, logger="flowaudio.data.corpus"):
        summary = build_corpus(
            tmp_path / "out", voices, sentences, per_voice=3, heldout=1, progress=False
        )
    assert "reused" in caplog.text
    assert (summary.n_train, summary.n_heldout) == (6, 2)
    with pytest.raises(ValueError, match="fewer than heldout"):
        build_corpus(tmp_path / "out2", voices, sentences, per_voice=1, heldout=5)


def test_failed_clips_are_listed_and_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A flite that fails on one sentence stands in for a crashing engine (failure path only).
    real = shutil.which("flite")
    assert real is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "flite"
    fake.write_text(
        "#!/bin/sh\n"
        'case "$*" in *Explode*) echo "synthetic failure" >&2; exit 3;; esac\n'
        f'exec {real} "$@"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    lines = [*CLEAN[:3], "Explode this sentence and nothing else, please."]
    sentences = _write(tmp_path / "s.txt", lines)
    summary = build_corpus(
        tmp_path / "out",
        ["flite:kal16"],
        sentences,
        per_voice=3,
        heldout=1,
        seed=3,
        progress=False,
    )
    assert len(summary.failed) == 1
    spec, text, reason = summary.failed[0].split("\t")
    assert (spec, text) == ("flite:kal16", lines[3])
    assert "synthetic failure" in reason
    failed_tsv = (tmp_path / "out" / "failed.tsv").read_text().splitlines()
    assert failed_tsv == ["spec\ttext\treason", summary.failed[0]]
    rows = (
        _read_csv(tmp_path / "out" / "metadata.csv")[1:]
        + _read_csv(tmp_path / "out" / "heldout.csv")[1:]
    )
    assert len(rows) == 3
    assert lines[3] not in {r[2] for r in rows}


def test_build_corpus_rejects_bad_arguments(tmp_path: Path) -> None:
    sentences = _write(tmp_path / "s.txt", CLEAN)
    with pytest.raises(ValueError, match="non-empty list"):
        build_corpus(tmp_path / "o", "flite:slt", sentences)
    with pytest.raises(ValueError, match="listed 2 times"):
        build_corpus(tmp_path / "o", ["flite:slt", "flite:slt"], sentences)
    with pytest.raises(ValueError, match="listed 2 times"):
        build_corpus(tmp_path / "o", ["espeak:en-us", "espeak-ng:en-us"], sentences)
    with pytest.raises(ValueError, match="share the speaker name"):
        build_corpus(tmp_path / "o", ["espeak:en-us", "espeak:EN-US"], sentences)
    with pytest.raises(ValueError, match="per_voice"):
        build_corpus(tmp_path / "o", ["flite:slt"], sentences, per_voice=0)


def test_default_recipe() -> None:
    assert DEFAULT_VOICE_RECIPE.voices == ("flite:slt", "flite:rms", "flite:awb", "flite:kal16")
    assert (DEFAULT_VOICE_RECIPE.heldout, DEFAULT_VOICE_RECIPE.seed) == (20, 1234)
    assert DEFAULT_VOICE_RECIPE.sentences == "fortunes"
    # ~4.8 s per fortunes clip: 3 to 4 hours of training audio over the four voices.
    hours = len(DEFAULT_VOICE_RECIPE.voices) * DEFAULT_VOICE_RECIPE.per_voice * 4.8 / 3600
    assert 3.0 <= hours <= 4.0
    for spec in DEFAULT_VOICE_RECIPE.voices:
        parse_voice(spec)


def test_dictionary_entries_are_dropped(tmp_path):
    src = tmp_path / "defs.txt"
    src.write_text(
        "economist, n: Someone who is good with figures but lacks the personality.\n"
        "bore, n.: A person who talks when you wish him to listen to you.\n"
        "The doctor said that the patient was going to be fine.\n"
    )
    assert load_sentences(src) == ["The doctor said that the patient was going to be fine."]
