"""``flowaudio say`` into files of each format, standard output (WAV, raw PCM) and the speakers;
``info`` and ``voices`` with the embedded voice; ``serve --api-key``."""

from __future__ import annotations

import io
import logging
import sys
import types

import numpy as np
import pytest
import soundfile as sf

from flowaudio.audio.io import file_formats
from flowaudio.cli import main
from flowaudio.runtime.contract import VoiceMeta
from flowaudio.runtime.synthesizer import Voice


@pytest.fixture
def say(tiny_voice):
    def run(*argv: str) -> int:
        return main(["say", *argv, "--voice", str(tiny_voice), "--threads", "1"])

    return run


@pytest.mark.parametrize("fmt", file_formats())
def test_the_extension_names_the_format(say, tmp_path, fmt):
    out = tmp_path / f"hello.{fmt}"
    assert say("Hello world.", "-o", str(out), "--seed", "1") == 0
    expected = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "opus": "OGG", "mp3": "MP3"}[fmt]
    assert sf.info(out).format == expected
    assert sf.info(out).frames > 0


def test_an_unknown_extension_is_refused_before_synthesis(say, tmp_path, capsys):
    assert say("Hello.", "-o", str(tmp_path / "hello.aiff")) == 1
    err = capsys.readouterr().err
    assert ".aiff (unknown audio format); use one of .wav" in err
    assert not list(tmp_path.iterdir())
    assert say("Hello.") == 1  # nowhere to put it
    assert "-o FILE, -o - (a WAV on standard output), --raw" in capsys.readouterr().err


def test_dash_writes_a_wav_to_stdout_and_raw_writes_pcm(say, tiny_voice, tmp_path, capsysbinary):
    assert say("Hello world.", "-o", "-", "--seed", "2") == 0
    out, err = capsysbinary.readouterr()
    expected = Voice.load(tiny_voice, threads=1).synthesize("Hello world.", seed=2)
    assert out == expected.to_wav_bytes()  # the bytes of the file, nothing else on stdout
    assert b"wrote a WAV to standard output" in err

    assert say("Hello world.", "--raw", "--seed", "2") == 0
    out, err = capsysbinary.readouterr()
    assert b"16-bit signed little-endian mono PCM at 16000 Hz" in err
    pcm = np.frombuffer(out, dtype="<i2")
    wav, _ = sf.read(io.BytesIO(expected.to_wav_bytes()), dtype="int16")
    # streamed sentence by sentence: the same speech up to the vocoder's window edges
    assert abs(len(pcm) - len(wav)) <= 1 and np.corrcoef(pcm, wav)[0, 1] > 0.99

    raw = tmp_path / "hello.pcm"
    assert say("Hello world.", "--raw", "-o", str(raw), "--seed", "2") == 0
    assert raw.read_bytes() == out


def test_play_says_what_is_missing(say, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # the extra not installed
    assert say("Hello.", "--play") == 1
    assert "needs sounddevice: pip install 'flowaudio[play]'" in capsys.readouterr().err

    fake = types.ModuleType("sounddevice")

    class PortAudioError(Exception):
        pass

    def no_device(kind=None):
        raise PortAudioError("Error querying device -1")

    fake.PortAudioError, fake.query_devices = PortAudioError, no_device
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    assert say("Hello.", "--play") == 1
    assert "--play found no audio output device (Error querying device -1)" in (
        capsys.readouterr().err
    )

    played = []
    fake.query_devices = lambda kind=None: {"name": "speakers"}
    fake.play = lambda samples, rate: played.append((samples, rate))
    fake.wait = fake.stop = lambda: None
    assert say("Hello.", "--play", "--seed", "1") == 0
    [(samples, rate)] = played
    assert rate == 16000 and samples.dtype == np.float32 and len(samples) > 1000


def test_play_without_portaudio_is_a_message():
    # This machine has the sounddevice wheel but no PortAudio library (and no sound card).
    try:
        import sounddevice  # noqa: F401
    except OSError:
        pass
    except ModuleNotFoundError:
        pytest.skip("sounddevice is not installed")
    else:
        pytest.skip("this machine has PortAudio")
    from flowaudio.cli.synth import _player

    with pytest.raises(RuntimeError, match=r"install PortAudio .*or write a file with -o FILE"):
        _player()


def test_lexicon_and_settings_reach_the_voice(say, tiny_voice, tmp_path, capsys):
    lexicon = tmp_path / "words.tsv"
    lexicon.write_text("zork\tzɔːk\n", encoding="utf-8")
    out = tmp_path / "z.wav"
    argv = ["A zork.", "-o", str(out), "--seed", "1", "--steps", "3", "--solver", "heun"]
    assert say(*argv, "--lexicon", str(lexicon), "--temperature", "0.5", "--guidance", "1") == 0
    voice = Voice.load(tiny_voice, threads=1)
    settings = {"seed": 1, "steps": 3, "solver": "heun", "temperature": 0.5, "guidance_scale": 1}
    expected = voice.synthesize("A zork.", lexicon=lexicon, **settings)
    assert out.read_bytes() == expected.to_wav_bytes()
    assert out.read_bytes() != voice.synthesize("A zork.", **settings).to_wav_bytes()

    lexicon.write_text("zork\n", encoding="utf-8")
    assert say(*argv, "--lexicon", str(lexicon)) == 1
    assert "words.tsv:1: expected 'word<TAB>IPA'" in capsys.readouterr().err
    embedding = tmp_path / "me.npy"
    np.save(embedding, np.zeros(8, np.float32))
    assert say(*argv, "--speaker-embedding", str(embedding)) == 1
    assert "named speakers" in capsys.readouterr().err


def test_foreign_text_is_named_and_strict_refuses(say, tmp_path, capsys, caplog):
    out = str(tmp_path / "x.wav")
    with caplog.at_level(logging.WARNING):
        assert say("Hello, Москва! Как дела?", "-o", out) == 0
    assert any("Cyrillic script" in r.getMessage() for r in caplog.records)
    assert say("Hello, Москва! Как дела?", "-o", out, "--strict-language") == 1
    assert "looks like Cyrillic script ('Москва', 'Как', 'дела')" in capsys.readouterr().err


def test_info_summarises_and_json_prints_the_metadata(tiny_voice, capsys):
    assert main(["info", str(tiny_voice)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("voice tiny (")
    for part in ("speakers: 2: rms, slt", "16000 Hz", "normaliser rules v", "defaults: ",
                 "size:", "velocity.onnx", "made:     acoustic 3 steps"):  # fmt: skip
        assert part in text
    assert main(["info", str(tiny_voice), "--json"]) == 0
    assert VoiceMeta.from_json(capsys.readouterr().out).speakers == ("rms", "slt")
    assert main(["info"]) == 0  # the embedded voice
    assert capsys.readouterr().out.startswith("voice default (")
    assert main(["info", "default", "--json"]) == 0
    assert VoiceMeta.from_json(capsys.readouterr().out).name == "default"
    assert main(["voices", "default", str(tiny_voice)]) == 0
    out = capsys.readouterr().out
    assert out.count("(default): default") == 1 and "tiny (16000 Hz" in out


def test_info_names_a_distilled_voice(tiny_voice, tmp_path, capsys):
    import json
    import shutil

    voice = tmp_path / "student"
    shutil.copytree(tiny_voice, voice)
    meta = json.loads((voice / "voice.json").read_text())
    meta.update(schema_version=2, distillation={"method": "reflow", "teacher": "voice:default",
                "teacher_settings": {"steps": 16, "guidance_scale": 1.5}})  # fmt: skip
    meta["defaults"]["guidance_scale"] = 1.0
    (voice / "voice.json").write_text(json.dumps(meta))
    assert main(["info", str(voice)]) == 0
    assert (
        "distilled: reflow student of voice:default (teacher sampled with steps 16, "
        "guidance_scale 1.5)" in capsys.readouterr().out
    )


def test_serve_passes_the_api_key(monkeypatch, tiny_voice):
    pytest.importorskip("uvicorn")
    import uvicorn

    from flowaudio.server import app

    made = []
    monkeypatch.setattr(app, "create_app", lambda voices, **kw: made.append((voices, kw)))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: None)
    monkeypatch.delenv("FLOWAUDIO_API_KEY", raising=False)
    assert main(["serve", "--voice", str(tiny_voice)]) == 0
    assert made[-1][1]["api_key"] is None
    monkeypatch.setenv("FLOWAUDIO_API_KEY", "from-env")
    assert main(["serve", "--voice", "default"]) == 0
    assert made[-1][1]["api_key"] == "from-env"
    assert made[-1][0][0].name == "default"
    assert main(["serve", "--api-key", "from-flag"]) == 0
    assert made[-1][1]["api_key"] == "from-flag"


def test_every_subcommand_shows_an_example_and_each_default_once():
    import re

    from flowaudio.cli import build_parser

    [sub] = [a for a in build_parser()._actions if a.dest == "command"]
    for name, parser in sub.choices.items():
        if name == "corpus":  # a group: its one command is `corpus build`
            [group] = [a for a in parser._actions if a.dest == "corpus_command"]
            parser = group.choices["build"]
        text = " ".join(parser.format_help().split())  # argparse wraps lines anywhere
        assert "example: flowaudio" in text, name
        assert "(default: None)" not in text, name
        assert not re.search(r"\(default[^)]*\) \(default", text), name
