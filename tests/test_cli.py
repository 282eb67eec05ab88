"""The command line as a user meets it: --help, phonemize, corpus build -> prepare -> Dataset."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flowaudio.cli import main

FLOWAUDIO = [sys.executable, "-m", "flowaudio"]


@pytest.mark.parametrize("command", [[], ["phonemize"], ["prepare"], ["corpus", "build"]])
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out
    assert "flowaudio" in out


@pytest.mark.parametrize(
    "command",
    ["say", "export", "evaluate", "train", "train-vocoder", "distill", "finetune", "serve"],
)
def test_help_states_each_default_once(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere
    assert "(default: None)" not in text
    assert not re.search(r"\(default[^)]*\) \(default", text)


def test_phonemize_speaks_numbers_as_words():
    text = "Dr. Smith paid $3.50 at 3:45 pm on Dec. 5th, 2024."
    out = subprocess.run(
        [*FLOWAUDIO, "phonemize", text], capture_output=True, text=True, check=True
    ).stdout
    assert (
        "text:     Doctor Smith paid three dollars and fifty cents at three forty-five p m "
        "on December fifth, twenty twenty-four." in out
    )
    assert "phonemes: dˈɑːktɚ smˈɪθ" in out
    assert not any(ch.isdigit() for ch in out)


def test_phonemize_reads_stdin_and_prints_json():
    proc = subprocess.run(
        [*FLOWAUDIO, "phonemize", "-", "--json"],
        input="Hello there. General Kenobi!",
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(proc.stdout)
    assert [r["text"] for r in rows] == ["Hello there.", "General Kenobi!"]
    assert all(r["ids"] for r in rows)


def test_user_errors_are_messages_not_tracebacks(tmp_path, capsys):
    assert main(["prepare", str(tmp_path / "nope"), "--out", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "dataset not found" in err and "Traceback" not in err
    assert main(["corpus", "build", "--out", str(tmp_path / "x"), "--voices", "bogus:v"]) == 1
    assert "error" in capsys.readouterr().err
    assert main(["phonemize", "   "]) == 1
    assert "empty" in capsys.readouterr().err


def test_corpus_build_then_prepare_then_dataset(tmp_path, capsys):
    """The foundation's acceptance path, including a corrupt WAV dropped into the corpus."""
    corpus = tmp_path / "corpus"
    cache = tmp_path / "cache"
    rc = main(
        [
            "corpus",
            "build",
            "--out",
            str(corpus),
            "--voices",
            "flite:slt,flite:kal16",
            "--sentences",
            "fortunes",
            "--per-voice",
            "12",
            "--heldout",
            "2",
            "--seed",
            "7",
            "-q",
        ]
    )
    assert rc == 0
    rows = (corpus / "metadata.csv").read_text().splitlines()
    assert rows[0] == "audio_path|speaker|text" and len(rows) == 1 + 24
    # a corrupt file the user added by hand
    bad = corpus / "wavs" / "slt" / "slt_corrupt.wav"
    bad.write_bytes(b"RIFF" + bytes(range(200)))
    with (corpus / "metadata.csv").open("a") as fh:
        fh.write("wavs/slt/slt_corrupt.wav|slt|This file is broken.\n")

    assert main(["prepare", str(corpus), "--out", str(cache), "--workers", "2", "-q"]) == 0
    out = capsys.readouterr().out
    assert "24 utterances" in out and "1 skipped" in out
    report = (cache / "report.tsv").read_text()
    assert "slt_corrupt.wav" in report and "unreadable audio" in report

    from flowaudio.train.dataset import TTSDataset

    train, val = TTSDataset(cache, "train"), TTSDataset(cache, "val")
    assert len(train) + len(val) == 24
    assert train.info.speakers == ("kal16", "slt")
    item = train[0]
    assert item["mel"].shape[0] == 80 and item["mel"].shape[1] > 30
    assert Path(cache / "stats.json").is_file()
