"""The torch-free runtime on a tiny voice exported by a test fixture (``tiny_voice``)."""

import io
import json
import logging
import shutil

import numpy as np
import pytest
import soundfile as sf

import flowaudio
from flowaudio.runtime.contract import SynthesisConfig, VoiceFormatError, VoiceMeta
from flowaudio.runtime.synthesizer import MAX_PADDING, Voice, _length_groups


@pytest.fixture(scope="module")
def voice(tiny_voice):
    return Voice.load(tiny_voice, threads=1)


def test_runtime_synthesizes_with_torch_unimportable(tiny_voice, tmp_path, run_without_torch):
    out = tmp_path / "x.wav"
    code = f"""
import sys
import flowaudio
from flowaudio.cli import main
audio = flowaudio.synthesize("Hello there. How are you?", voice={str(tiny_voice)!r}, seed=1)
assert audio.samples.dtype.name == "float32" and audio.duration > 0.2
assert main(["say", "Hello world.", "-o", {str(out)!r}, "--voice", {str(tiny_voice)!r},
             "--seed", "3", "--steps", "2", "--solver", "heun"]) == 0
assert "torch" not in sys.modules
print("ok", audio.sample_rate)
"""
    proc = run_without_torch(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ok 16000" in proc.stdout
    data, sr = sf.read(out)
    assert sr == 16000 and len(data) > 1000


def test_same_seed_same_audio(voice):
    a = voice.synthesize("The cat sat on the mat.", seed=7)
    b = voice.synthesize("The cat sat on the mat.", seed=7)
    c = voice.synthesize("The cat sat on the mat.", seed=8)
    assert np.array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)
    assert np.isfinite(a.samples).all() and np.abs(a.samples).max() <= 1.0


@pytest.mark.parametrize("solver", ["euler", "midpoint", "heun", "rk4"])
@pytest.mark.parametrize("steps", [1, 2, 4, 8])
def test_every_step_count_and_solver_without_reexport(voice, steps, solver):
    audio = voice.synthesize("Time flies.", steps=steps, solver=solver, seed=0)
    assert audio.duration > 0.1 and np.isfinite(audio.samples).all()


def test_schedule_temperature_speed_guidance(voice):
    slow = voice.synthesize("Every cloud has a silver lining.", speed=0.5, seed=0)
    fast = voice.synthesize("Every cloud has a silver lining.", speed=2.0, seed=0)
    assert slow.duration > fast.duration
    for kwargs in ({"schedule": "sway"}, {"temperature": 0.0}, {"guidance_scale": 2.0}):
        assert np.isfinite(voice.synthesize("Hello.", seed=0, **kwargs).samples).all()


def test_speakers_and_errors(voice):
    assert voice.speakers == ("rms", "slt")
    a = voice.synthesize("Hello.", speaker="slt", seed=0)
    b = voice.synthesize("Hello.", speaker="rms", seed=0)
    assert not np.array_equal(a.samples, b.samples)
    with pytest.raises(ValueError, match="unknown speaker 'nobody'; this voice has: rms, slt"):
        voice.synthesize("Hello.", speaker="nobody")
    with pytest.raises(ValueError, match="empty"):
        voice.synthesize("   ")
    with pytest.raises(ValueError, match="pronounceable"):
        voice.synthesize("😀😀")
    with pytest.raises(ValueError, match="steps"):
        voice.synthesize("Hello.", steps=0)
    with pytest.raises(ValueError, match="unknown solver"):
        voice.synthesize("Hello.", solver="dopri5")
    with pytest.raises(ValueError, match="speed"):
        voice.synthesize("Hello.", speed=float("nan"))
    with pytest.raises(ValueError, match="speaker_embedding"):
        voice.synthesize("Hello.", speaker_embedding=np.zeros(4))


def test_long_text_is_split_and_joined_with_pauses(voice):
    one = voice.synthesize("Fortune favours the bold.", seed=0)
    two = voice.synthesize("Fortune favours the bold. Fortune favours the bold.", seed=0)
    pause = int(voice.meta.defaults.sentence_pause * voice.sample_rate)
    assert len(two.samples) > 2 * len(one.samples)
    # the first sentence is the same audio either way (noise keyed by sentence index)
    assert np.allclose(two.samples[: len(one.samples)], one.samples, atol=1e-4)
    assert not two.samples[len(one.samples) : len(one.samples) + pause].any()


def test_batch_equals_one_by_one(voice):
    texts = ["A bird in the hand.", "Actions speak louder than words, they say.", "Hi."]
    batch = voice.synthesize_batch(texts, config=SynthesisConfig(seed=3))
    for i, text in enumerate(texts):
        single = voice.synthesize_batch([text], config=SynthesisConfig(seed=3))[0]
        if i == 0:
            assert len(batch[i].samples) == len(single.samples)
        assert len(batch[i].samples) > 0
    # text 0 alone vs inside the batch: same noise, same mel; the vocoder sees padding only
    # within its receptive field of the end (0.5 s here), so the audio before that is equal.
    alone = voice.synthesize_batch([texts[0]], config=SynthesisConfig(seed=3))[0]
    tail = voice.sample_rate // 2
    assert np.abs(batch[0].samples[:-tail] - alone.samples[:-tail]).max() < 1e-4
    assert np.abs(batch[0].samples - alone.samples).max() < 0.05
    with pytest.raises(ValueError, match="list of texts"):
        voice.synthesize_batch("not a list")  # type: ignore[arg-type]


def test_stream_yields_chunks_that_add_up(voice):
    text = "Never put off until tomorrow. What you can do today."
    chunks = list(
        voice.stream(text, config=SynthesisConfig(seed=5), chunk_frames=8, context_frames=16)
    )
    assert len(chunks) > 3
    streamed = np.concatenate([c.samples for c in chunks])
    whole = voice.synthesize(text, seed=5)
    assert len(streamed) == len(whole.samples)
    assert np.abs(streamed - whole.samples).max() < 0.05


def test_audio_save_and_bytes(voice, tmp_path):
    audio = voice.synthesize("Hello.", seed=0)
    audio.save(tmp_path / "a.wav")
    data, sr = sf.read(tmp_path / "a.wav")
    assert sr == audio.sample_rate and len(data) == len(audio.samples)
    raw = audio.to_wav_bytes()
    assert raw[:4] == b"RIFF"
    assert len(sf.read(io.BytesIO(raw))[0]) == len(audio.samples)


def test_unknown_schema_versions_are_refused_with_a_fix(tiny_voice, tmp_path):
    copy = tmp_path / "voice"
    shutil.copytree(tiny_voice, copy)
    meta = json.loads((copy / "voice.json").read_text())
    meta["schema_version"] = 99
    (copy / "voice.json").write_text(json.dumps(meta))
    with pytest.raises(VoiceFormatError, match="upgrade flowaudio"):
        Voice.load(copy)
    meta["schema_version"] = 0
    (copy / "voice.json").write_text(json.dumps(meta))
    with pytest.raises(VoiceFormatError, match="re-export"):
        Voice.load(copy)
    with pytest.raises(VoiceFormatError, match="not a flowaudio voice"):
        Voice.load(tmp_path)


def test_a_voice_with_bad_defaults_is_refused_at_load(tiny_voice, tmp_path):
    copy = tmp_path / "voice"
    shutil.copytree(tiny_voice, copy)
    meta = json.loads((copy / "voice.json").read_text())
    for defaults, says in [
        ({"steps": 0}, "steps must be an integer"),
        ({"temperature": "hot"}, "temperature must be a number"),
        ({"solver": "dopri5"}, "unknown solver"),
        ({"guidance_scale": 1e9}, "guidance_scale must be in"),
    ]:
        (copy / "voice.json").write_text(json.dumps({**meta, "defaults": defaults}))
        with pytest.raises(VoiceFormatError, match=says):
            Voice.load(copy)


def test_load_voice_caches_and_cli_lists(tiny_voice, capsys):
    assert flowaudio.load_voice(tiny_voice) is flowaudio.load_voice(tiny_voice)
    from flowaudio.cli import main

    assert main(["voices", str(tiny_voice)]) == 0
    assert "speakers: rms, slt" in capsys.readouterr().out
    assert main(["info", str(tiny_voice), "--json"]) == 0
    assert VoiceMeta.from_json(capsys.readouterr().out).speakers == ("rms", "slt")


def test_length_groups_keep_uneven_sentences_apart():
    # A pass pads every sentence to its longest: on CPU uneven passes only waste work.
    assert _length_groups([483, 159], 8) == [[1], [0]]
    assert _length_groups([100, 100, 100], 2) == [[0, 1], [2]]
    limit = int(100 * (1 + MAX_PADDING))
    assert _length_groups([limit, 100, limit + 1], 8) == [[1, 0], [2]]
    assert _length_groups([7], 8) == [[0]]


def _record_velocity_calls(voice):
    """Wrap the voice's ONNX velocity binding; returns the list of batch sizes it ran."""
    sizes = []
    bind = voice.backend.bind_velocity

    def recording_bind(mu, mask, cond):
        run = bind(mu, mask, cond)

        def velocity(x, t, *rest):
            sizes.append(x.shape[0])
            return run(x, t, *rest)

        return velocity

    voice.backend.bind_velocity = recording_bind
    return sizes


def test_guidance_runs_both_passes_as_one_batch(tiny_voice):
    voice = Voice.load(tiny_voice, threads=1)
    sizes = _record_velocity_calls(voice)
    voice.synthesize("Hello there.", seed=0, steps=3)
    assert sizes == [1, 1, 1]  # guidance 1: the conditional pass only
    sizes.clear()
    guided = voice.synthesize("Hello there.", seed=0, steps=3, guidance_scale=2.5)
    assert sizes == [2, 2, 2]  # one call per step, conditional and unconditional together

    # The same as two separate calls combined on the host: v_u + g (v_c - v_u).
    def two_calls(mu_frames, mel_mask, spk, guidance, grid):
        null = np.repeat(voice._null_cond[None], mu_frames.shape[0], axis=0)
        cond = voice.backend.bind_velocity(mu_frames, mel_mask, spk)
        uncond = voice.backend.bind_velocity(np.zeros_like(mu_frames), mel_mask, null)

        def velocity(x, t):
            tt = np.full((x.shape[0],), t, dtype=np.float32)
            v_u = uncond(x, tt)
            return v_u + np.float32(guidance) * (cond(x, tt) - v_u)

        return velocity

    voice._velocity_fn = two_calls
    separate = voice.synthesize("Hello there.", seed=0, steps=3, guidance_scale=2.5)
    assert np.abs(guided.samples - separate.samples).max() < 1e-5


def test_uneven_sentences_run_in_separate_passes(tiny_voice):
    voice = Voice.load(tiny_voice, threads=1)
    sizes = _record_velocity_calls(voice)
    text = "Hi. A much longer sentence follows the first one, with many more words in it."
    voice.synthesize(text, seed=0, steps=1)
    assert sizes == [1, 1]
    sizes.clear()
    voice.synthesize_batch(
        ["The cat sat.", "The cat sat."], config=SynthesisConfig(seed=0, steps=1)
    )
    assert sizes == [2]  # equal lengths still share a pass


def test_runtime_import_leaves_file_and_number_libraries_unloaded(run_without_torch):
    proc = run_without_torch(
        "import sys\n"
        "import flowaudio.runtime.synthesizer\n"
        "heavy = {'soundfile', 'soxr', 'num2words', 'onnxruntime'} & set(sys.modules)\n"
        "print('loaded', sorted(heavy))\n"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "loaded []" in proc.stdout


def _zero_runs(samples: np.ndarray) -> list[int]:
    """Lengths of the runs of exact zeros (inserted silence; the vocoder never gives 0.0)."""
    padded = np.concatenate([[1.0], samples, [1.0]]) == 0
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [int(b - a) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@pytest.mark.parametrize("ms", [250, 700, 1500])
def test_ssml_break_is_a_silence_of_its_length(voice, ms):
    audio = voice.synthesize(f'<speak>Hello.<break time="{ms}ms"/>World.</speak>', seed=0)
    runs = _zero_runs(audio.samples)
    assert len(runs) == 1
    assert abs(runs[0] / voice.sample_rate - ms / 1000) < 0.02


def test_sentence_pause_and_leading_break_are_silences(voice):
    audio = voice.synthesize("Hello there. How are you?", seed=0)
    (run,) = _zero_runs(audio.samples)
    assert abs(run / voice.sample_rate - voice.meta.defaults.sentence_pause) < 0.02
    audio = voice.synthesize('<speak><break time="400ms"/>Hi.</speak>', seed=0)
    assert not audio.samples[: int(0.4 * voice.sample_rate)].any()
    streamed = np.concatenate(
        [
            c.samples
            for c in voice.stream(
                '<speak><break time="400ms"/>Hi.</speak>', config=SynthesisConfig(seed=0)
            )
        ]
    )
    assert np.abs(streamed - audio.samples).max() < 0.05


def test_ssml_rate_phonemes_and_errors(voice):
    slow = voice.synthesize('<speak><prosody rate="x-slow">Hello there.</prosody></speak>', seed=0)
    plain = voice.synthesize("Hello there.", seed=0)
    assert len(slow.samples) > len(plain.samples)
    assert len(voice.synthesize("Say [[ ˈfloʊ ˈɔːdioʊ ]] now.", seed=0).samples) > 0
    with pytest.raises(ValueError, match="malformed SSML"):
        voice.synthesize("<speak>Hello", seed=0)
    with pytest.raises(ValueError, match="cannot say"):
        voice.synthesize("Say [[ ☃ ]].", seed=0)


def test_voice_lexicon_file_and_call_lexicon(tiny_voice, tmp_path):
    copy = tmp_path / "voice"
    shutil.copytree(tiny_voice, copy)
    (copy / "lexicon.tsv").write_text("zork\tzɔːɹk\n", encoding="utf-8")
    voice = Voice.load(copy, threads=1)
    (segment,) = voice.frontend.plan("A zork.", 0.3)
    assert "/zɔːɹk/" in segment.text
    (segment,) = voice.frontend.plan("A zork.", 0.3, lexicon={"zork": "zɔːk"})
    assert "/zɔːk/" in segment.text
    assert len(voice.synthesize("A zork.", seed=0, lexicon={"a": "eɪ"}).samples) > 0


def test_voice_without_a_normalizer_version_is_version_1_and_logged(
    tiny_voice, caplog: pytest.LogCaptureFixture
):
    """Older rules than installed: one DEBUG line per version; newer: one WARNING."""
    from flowaudio.text import normalize

    data = json.loads((tiny_voice / "voice.json").read_text())
    assert data["text"]["normalizer_version"] == normalize.NORMALIZER_VERSION  # export records it
    del data["text"]["normalizer_version"]  # as in voices made before versions were recorded
    meta = VoiceMeta.from_json(json.dumps(data))
    newer = normalize.NORMALIZER_VERSION + 1
    data["text"]["normalizer_version"] = newer
    meta_newer = VoiceMeta.from_json(json.dumps(data))
    normalize._warned_versions.difference_update({1, newer})
    with caplog.at_level(logging.DEBUG, logger="flowaudio.text.normalize"):
        voice = Voice(meta, backend=None)  # type: ignore[arg-type]
        Voice(meta, backend=None)  # type: ignore[arg-type]
        Voice(meta_newer, backend=None)  # type: ignore[arg-type]
        Voice(meta_newer, backend=None)  # type: ignore[arg-type]
    assert voice.frontend.config.normalizer_version == 1
    older = [r for r in caplog.records if "normaliser rules v1;" in r.getMessage()]
    assert [r.levelno for r in older] == [logging.DEBUG]
    ahead = [r for r in caplog.records if f"rules v{newer}, newer" in r.getMessage()]
    assert [r.levelno for r in ahead] == [logging.WARNING]


def test_say_reads_ssml(tiny_voice, tmp_path):
    from flowaudio.cli import main

    out = tmp_path / "ssml.wav"
    ssml = '<speak>Hi.<break time="300ms"/><say-as interpret-as="characters">ok</say-as></speak>'
    assert main(["say", ssml, "-o", str(out), "--voice", str(tiny_voice), "--seed", "1"]) == 0
    samples, _ = sf.read(out, dtype="float32")
    assert len(samples) > 0.3 * 16000
    assert main(["say", "<speak>Hi", "-o", str(out), "--voice", str(tiny_voice)]) != 0
