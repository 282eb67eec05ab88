"""Torch -> ONNX voice export: files, self-description, parity, failure modes, the CLI.

The voices come from real runs: ``tiny_acoustic_run`` (the tiny preset trained 3 steps on the
flite teacher corpus) and ``tiny_vocoder_run`` (a random-init tiny vocoder stored the way the
trainer stores it); see tests/conftest.py.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from flowaudio.audio.config import AUDIO_PRESETS
from flowaudio.config import from_dict, to_dict
from flowaudio.export import voice as voice_module
from flowaudio.export.from_voice import load_voice_models
from flowaudio.export.onnx_io import weights_to_float16
from flowaudio.export.verify import FP32_BOUNDS, VerifyError, VerifyReport, verify_voice
from flowaudio.export.voice import export_voice, load_acoustic, load_vocoder, voice_size
from flowaudio.export.wrappers import FusedGraph
from flowaudio.models.config import VOCODER_PRESETS, TTSConfig
from flowaudio.models.tts import FlowTTS
from flowaudio.runtime import contract as C
from flowaudio.runtime.contract import VoiceMeta
from flowaudio.runtime.synthesizer import Voice
from flowaudio.train.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)


def _without_hashes(voice_text: str) -> str:
    """voice.json as the graphs carry it: without the hashes of the graphs themselves."""
    return dataclasses.replace(VoiceMeta.from_json(voice_text), graph_sha256={}).to_json()


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_export_writes_a_complete_self_describing_voice(tiny_voice, tiny_acoustic_run):
    # Readable by everyone like the shipped voice (a temporary folder alone would be 0700).
    assert tiny_voice.stat().st_mode & 0o777 == 0o755
    names = sorted(p.name for p in tiny_voice.iterdir())
    assert names == sorted([C.VOICE_JSON, C.ENCODER_ONNX, C.VELOCITY_ONNX, C.VOCODER_ONNX])
    meta = VoiceMeta.load(tiny_voice)
    acoustic = load_acoustic(tiny_acoustic_run)
    assert meta.name == "tiny"
    assert meta.schema_version == C.SCHEMA_VERSION
    assert meta.vocoder == "onnx"
    assert meta.speaker_mode == "id"
    assert meta.speakers == tuple(acoustic.metadata["speakers"])
    assert len(meta.speakers) == 2
    assert meta.speaker_embedding_dim == 0
    assert meta.speaker_cond_dim == acoustic.model.speaker.dim
    null = acoustic.model.null_condition(1)[0].detach().numpy()
    np.testing.assert_array_equal(np.asarray(meta.null_speaker_cond, np.float32), null)
    assert meta.symbols == acoustic.metadata["symbols"]
    assert meta.mel_mean == acoustic.metadata["mel_mean"]
    assert meta.fused_steps is None
    assert meta.defaults == C.SynthesisDefaults()
    prov = meta.provenance
    assert prov["acoustic"]["steps_trained"] == 3
    assert prov["acoustic"]["config"]["encoder"]["channels"] == 32
    assert prov["vocoder"]["steps_trained"] == 3
    assert prov["weights"] == "float32"
    assert prov["exported_at"].endswith("+00:00")
    # Nothing of the exporting machine: the runs and the cache were given as absolute paths.
    ckpt = f"{tiny_acoustic_run.name}/checkpoints/step_00000003.pt"
    assert prov["acoustic"]["checkpoint"] == ckpt
    assert prov["vocoder"]["checkpoint"].startswith("vocoder_run")
    assert prov["acoustic"]["corpus"] == prov["vocoder"]["corpus"] == "cache"

    voice_text = (tiny_voice / C.VOICE_JSON).read_text(encoding="utf-8")
    assert tiny_acoustic_run.is_absolute()
    assert str(tiny_acoustic_run.parent) not in voice_text
    expected_io = {
        C.ENCODER_ONNX: (
            [C.ENC_IDS, C.ENC_ID_LENGTHS, C.ENC_LENGTH_SCALE, C.ENC_SPEAKERS],
            [C.ENC_MU, C.ENC_LOG_DURATIONS, C.ENC_SPEAKER_COND],
        ),
        C.VELOCITY_ONNX: (
            [C.VEL_X, C.VEL_T, C.VEL_MU_FRAMES, C.VEL_MEL_MASK, C.VEL_SPEAKER_COND],
            [C.VEL_V],
        ),
        C.VOCODER_ONNX: ([C.VOC_MEL], [C.VOC_AUDIO]),
    }
    for name, (inputs, outputs) in expected_io.items():
        proto = onnx.load(str(tiny_voice / name), load_external_data=False)
        props = {p.key: p.value for p in proto.metadata_props}
        assert props[C.METADATA_VOICE_KEY] == _without_hashes(voice_text), name
        assert props[C.METADATA_SCHEMA_KEY] == str(C.SCHEMA_VERSION)
        assert [i.name for i in proto.graph.input] == inputs
        assert [o.name for o in proto.graph.output] == outputs
        assert proto.opset_import[0].version == C.OPSET


def test_a_voices_vocoder_is_recorded_by_the_voice_name(tiny_voice, tiny_acoustic_run):
    # A vocoder taken from a voice (a fine-tuned or distilled run's) may sit anywhere, even in
    # site-packages: voice.json names the voice folder and the graph, not the path.
    acoustic, vocoder = load_acoustic(tiny_acoustic_run), load_vocoder(tiny_voice)
    meta = voice_module.build_voice_meta(acoustic, vocoder, name="again")
    assert meta.provenance["vocoder"]["checkpoint"] == f"{tiny_voice.name}/{C.VOCODER_ONNX}"


def test_exported_voice_matches_torch(tiny_voice, tiny_acoustic_run, tiny_vocoder_run):
    acoustic, vocoder = load_acoustic(tiny_acoustic_run), load_vocoder(tiny_vocoder_run)
    lines: list[str] = []
    report = verify_voice(tiny_voice, acoustic.model, vocoder.model, log=lines.append)
    assert report.ok
    assert {row.graph for row in report.rows} == {"encoder", "velocity", "vocoder", "end-to-end"}
    assert any(row.size == "B=1 L=2000" for row in report.rows)
    assert report.max_error("encoder") < FP32_BOUNDS.encoder
    assert report.max_error("velocity") < FP32_BOUNDS.velocity
    assert report.max_error("vocoder") < FP32_BOUNDS.vocoder
    assert report.max_error("end-to-end") < FP32_BOUNDS.end_to_end
    assert "max abs error" in lines[0]


def test_verify_catches_wrong_weights(tiny_voice, tiny_acoustic_run, tiny_vocoder_run):
    acoustic = load_acoustic(tiny_acoustic_run)
    torch.manual_seed(123)
    other = FlowTTS(acoustic.model.config, acoustic.model.n_vocab)
    other.set_normalization(acoustic.metadata["mel_mean"], acoustic.metadata["mel_std"])
    vocoder = load_vocoder(tiny_vocoder_run).model
    with pytest.raises(VerifyError, match=r"encoder \(B=2 L=23\)") as info:
        verify_voice(tiny_voice, other, vocoder, end_to_end=False)
    failed = {row.graph for row in info.value.report.rows if not row.ok}
    assert failed == {"encoder", "velocity"}


def test_a_failed_verification_leaves_no_voice(
    tiny_acoustic_run, tiny_vocoder_run, tmp_path, monkeypatch
):
    def broken(voice_dir, *args, **kwargs):
        assert (Path(voice_dir) / C.VOICE_JSON).is_file()  # checked before it is put in place
        raise VerifyError(VerifyReport(str(voice_dir), "float32", ()))

    monkeypatch.setattr(voice_module, "verify_voice", broken)
    out = tmp_path / "voice"
    with pytest.raises(VerifyError, match=str(out)):
        export_voice(tiny_acoustic_run, tiny_vocoder_run, out)
    assert list(tmp_path.iterdir()) == []


def test_embedding_conditioned_voice(tiny_acoustic_run, tiny_vocoder_run, tmp_path):
    # A model that takes external speaker embeddings exports speaker_embedding, not speakers.
    state = load_checkpoint(latest_checkpoint(tiny_acoustic_run))
    cfg = from_dict(TTSConfig, state["config"]["model"])
    speaker = dataclasses.replace(cfg.speaker, external_dim=8)
    cfg = dataclasses.replace(cfg, speaker=speaker)
    torch.manual_seed(0)
    model = FlowTTS(cfg, len(state["metadata"]["symbols"]["symbols"]))
    run = tmp_path / "run"
    save_checkpoint(
        checkpoint_path(run, 5),
        {
            "task": "acoustic",
            "config": {"model": to_dict(cfg), "train": state["config"]["train"]},
            "metadata": state["metadata"],
            "modules": {"model": model.state_dict()},
            "ema": None,
            "step": 5,
        },
    )
    meta = export_voice(run, tiny_vocoder_run, tmp_path / "voice")  # verified end to end
    assert (meta.speaker_mode, meta.speaker_embedding_dim) == ("embedding", 8)
    inputs = [i.name for i in _session(tmp_path / "voice" / C.ENCODER_ONNX).get_inputs()]
    assert inputs == [C.ENC_IDS, C.ENC_ID_LENGTHS, C.ENC_LENGTH_SCALE, C.ENC_SPEAKER_EMBEDDING]


def test_encoder_takes_2000_tokens(tiny_voice):
    meta = VoiceMeta.load(tiny_voice)
    session = _session(tiny_voice / C.ENCODER_ONNX)
    rng = np.random.default_rng(0)
    n_vocab = len(meta.symbols["symbols"])
    ids = rng.integers(4, n_vocab, (2, 2000)).astype(np.int64)
    lengths = np.array([2000, 1500], np.int64)
    mu, log_d, spk = session.run(
        None,
        {
            C.ENC_IDS: ids,
            C.ENC_ID_LENGTHS: lengths,
            C.ENC_LENGTH_SCALE: np.ones(2, np.float32),
            C.ENC_SPEAKERS: np.array([0, 1], np.int64),
        },
    )
    assert mu.shape == (2, meta.audio["n_mels"], 2000)
    assert log_d.shape == (2, 1, 2000)
    assert spk.shape == (2, meta.speaker_cond_dim)
    assert np.isfinite(mu).all() and np.isfinite(log_d).all()
    assert not log_d[1, 0, 1500:].any()  # zero on padding


def test_griffin_lim_voice_has_no_vocoder_graph(tiny_acoustic_run, tmp_path):
    out = tmp_path / "gl"
    lines: list[str] = []
    meta = export_voice(tiny_acoustic_run, "griffin-lim", out, log=lines.append)
    assert meta.vocoder == "griffin-lim"
    assert meta.provenance["vocoder"] == "griffin-lim"
    assert not (out / C.VOCODER_ONNX).exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [C.VOICE_JSON, C.ENCODER_ONNX, C.VELOCITY_ONNX]
    )
    assert "end-to-end" in lines[0] and "vocoder" not in lines[0]
    audio = Voice.load(out).synthesize("Hello there.", seed=1, steps=2)
    assert audio.samples.dtype == np.float32 and len(audio.samples) > 0
    assert not list(tmp_path.glob(".gl*"))  # no temporary folder left


def test_fused_graph_equals_the_stepwise_pipeline(tiny_acoustic_run, tiny_vocoder_run):
    # With zero noise (temperature 0) the fused graph must be FlowTTS.synthesize (Euler,
    # uniform grid) followed by the vocoder.
    model = load_acoustic(tiny_acoustic_run).model
    vocoder = load_vocoder(tiny_vocoder_run).model
    graph = FusedGraph(model, vocoder, steps=3).eval()
    ids = torch.randint(4, model.n_vocab, (2, 12), generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([12, 7])
    speakers = torch.tensor([1, 0])
    with torch.no_grad():
        out = model.synthesize(ids, lengths, speakers, steps=3, temperature=0.0)
        audio, audio_lengths = graph(
            ids, lengths, torch.ones(2), speakers, torch.zeros(2, model.n_mels, 500)
        )
        expected = vocoder(out.mel)
    hop = vocoder.audio.hop_length
    assert audio_lengths.tolist() == (out.mel_lengths * hop).tolist()
    torch.testing.assert_close(audio, expected, atol=1e-5, rtol=0)


def test_mismatched_audio_configs_are_refused(tiny_acoustic_run, make_vocoder_run, tmp_path):
    run = make_vocoder_run(tmp_path / "voc22k", VOCODER_PRESETS["tiny"], AUDIO_PRESETS["22k"])
    out = tmp_path / "voice"
    with pytest.raises(ValueError, match=r"sample_rate: vocoder 22050 vs acoustic 16000"):
        export_voice(tiny_acoustic_run, run, out)
    assert not out.exists()


def test_unusable_checkpoints_give_clear_errors(tiny_acoustic_run, tiny_vocoder_run, tmp_path):
    broken = tmp_path / "broken"
    (broken / "checkpoints").mkdir(parents=True)
    source = latest_checkpoint(tiny_acoustic_run)
    data = source.read_bytes()
    (broken / "checkpoints" / source.name).write_bytes(data[: len(data) // 2])
    out = tmp_path / "voice"
    with pytest.raises(ValueError, match="not a readable flowaudio checkpoint"):
        export_voice(broken, "griffin-lim", out)
    with pytest.raises(ValueError, match="task 'vocoder', expected 'acoustic'"):
        export_voice(tiny_vocoder_run, "griffin-lim", out)
    with pytest.raises(FileNotFoundError, match="has no checkpoint"):
        export_voice(tmp_path, "griffin-lim", out)
    assert not out.exists()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    with pytest.raises(ValueError, match="is not a flowaudio voice"):
        export_voice(tiny_acoustic_run, "griffin-lim", tmp_path / "notes")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"


def test_export_passes_over_a_damaged_newest_checkpoint(tiny_acoustic_run, tmp_path, caplog):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    good = latest_checkpoint(tiny_acoustic_run).read_bytes()
    (run / "checkpoints" / "step_00000001.pt").write_bytes(good)
    (run / "checkpoints" / "step_00000002.pt").write_bytes(good[: len(good) // 3])
    with caplog.at_level("WARNING"):
        loaded = load_acoustic(run)
    assert loaded.checkpoint.name == "step_00000001.pt"
    assert "step_00000002.pt is not a readable flowaudio checkpoint" in caplog.text


def test_cli_export_fused_fp16(tiny_acoustic_run, tiny_vocoder_run, tiny_voice, tmp_path, capsys):
    from flowaudio.cli import main

    out = tmp_path / "voice"
    shutil.copytree(tiny_voice, out)  # an existing voice is replaced
    argv = ["export", str(tiny_acoustic_run), "--vocoder", str(tiny_vocoder_run)]
    argv += ["--out", str(out), "--fused", "--fused-steps", "2", "--fp16", "--name", "half"]
    assert main([*argv, "--default", "steps=2", "--default", "guidance_scale=1.5"]) == 0
    printed = capsys.readouterr().out
    assert "fused" in printed and "end-to-end" in printed and "MB" in printed
    meta = VoiceMeta.load(out)
    assert (meta.name, meta.fused_steps, meta.provenance["weights"]) == ("half", 2, "float16")
    voice_text = (out / C.VOICE_JSON).read_text(encoding="utf-8")
    for name in (C.ENCODER_ONNX, C.VELOCITY_ONNX, C.VOCODER_ONNX, C.FUSED_ONNX):
        proto = onnx.load(str(out / name))
        props = {p.key: p.value for p in proto.metadata_props}
        assert props[C.METADATA_VOICE_KEY] == _without_hashes(voice_text)
        types = {i.data_type for i in proto.graph.initializer}
        assert onnx.TensorProto.FLOAT16 in types, name
        for io in [*proto.graph.input, *proto.graph.output]:
            assert io.type.tensor_type.elem_type != onnx.TensorProto.FLOAT16
    assert voice_size(out) < voice_size(tiny_voice) + (out / C.FUSED_ONNX).stat().st_size
    voice = Voice.load(out)
    audio = voice.synthesize("Hello there.", seed=1, steps=2)
    assert np.isfinite(audio.samples).all() and len(audio.samples) > 0
    # --default: what a call leaves out comes from voice.json
    assert (meta.defaults.steps, meta.defaults.guidance_scale) == (2, 1.5)
    assert meta.defaults.temperature == C.SynthesisDefaults().temperature
    guided = voice.synthesize("Hello there.", seed=1, steps=2, guidance_scale=1.5)
    np.testing.assert_array_equal(voice.synthesize("Hello there.", seed=1).samples, guided.samples)
    plain = voice.synthesize("Hello there.", seed=1, steps=2, guidance_scale=1.0)
    assert not np.array_equal(plain.samples, guided.samples)


def _mel_and_audio(voice: Voice, text: str) -> tuple[np.ndarray, np.ndarray]:
    """The de-normalised mel the vocoder receives, and the audio, for one seeded synthesis."""
    seen = []
    vocode = voice.backend.vocode

    def recording(mel: np.ndarray) -> np.ndarray:
        seen.append(mel)
        return vocode(mel)

    voice.backend.vocode = recording  # type: ignore[method-assign]
    try:
        audio = voice.synthesize(text, seed=0, steps=4)
    finally:
        voice.backend.vocode = vocode  # type: ignore[method-assign]
    return seen[0], audio.samples


def test_int8_export_is_verified_smaller_and_close_to_float32(
    tiny_acoustic_run, tiny_vocoder_run, tiny_voice, tmp_path
):
    out = tmp_path / "int8"
    meta = export_voice(tiny_acoustic_run, tiny_vocoder_run, out, weights="int8")  # verified
    assert meta.provenance["weights"] == "int8"
    voice_text = (out / C.VOICE_JSON).read_text(encoding="utf-8")
    for name in (C.ENCODER_ONNX, C.VELOCITY_ONNX, C.VOCODER_ONNX):
        proto = onnx.load(str(out / name))
        assert "MatMulInteger" in {node.op_type for node in proto.graph.node}, name
        props = {p.key: p.value for p in proto.metadata_props}
        assert props[C.METADATA_VOICE_KEY] == _without_hashes(voice_text)
    # in the encoder only the transformer layers: what feeds the rounded durations is float32
    encoder = onnx.load(str(out / C.ENCODER_ONNX))
    integer = [n.name for n in encoder.graph.node if n.op_type == "MatMulInteger"]
    assert integer and all(n.startswith("/encoder/layers.") for n in integer)
    floats = {p.key: p.value for p in encoder.metadata_props}["flowaudio.int8_float"]
    assert "/duration/proj/Conv__cl_matmul" in floats.split(",")
    float_size = (tiny_voice / C.VELOCITY_ONNX).stat().st_size
    assert (out / C.VELOCITY_ONNX).stat().st_size < 0.7 * float_size

    ours, reference = Voice.load(out, threads=1), Voice.load(tiny_voice, threads=1)
    for text in ("The cat sat on the mat.", "A bird in the hand is worth two in the bush."):
        mel, audio = _mel_and_audio(ours, text)
        ref_mel, ref_audio = _mel_and_audio(reference, text)
        # int8 in the encoder's layers may move a token's duration by a frame on some CPU
        # (measured here: equal lengths); the values are compared where the lengths agree.
        frames, ref_frames = mel.shape[-1], ref_mel.shape[-1]
        assert abs(frames - ref_frames) <= max(1, 0.03 * ref_frames)
        if frames != ref_frames:
            continue
        # measured on the tiny voice: mel L1 0.008-0.010, max 0.23-0.29, audio max 5e-4 (with
        # a float32 encoder: L1 0.004, max 0.023: int8 in the encoder moves mu)
        assert 0 < np.abs(mel - ref_mel).mean() < 0.03
        assert np.abs(mel - ref_mel).max() < 0.6
        assert np.abs(audio - ref_audio).max() < 5e-3

    # Trainable again: the model rebuilt from the int8 voice is that voice's (dequantized
    # weights, each within a 7-bit step of the float model's), within the int8 bounds of its
    # graphs; the float parts (biases, norms, embeddings) come back exactly.
    rebuilt = load_voice_models(out)
    assert verify_voice(out, rebuilt.acoustic, rebuilt.vocoder).ok
    float_state = load_acoustic(tiny_acoustic_run).model.state_dict()
    moved = 0
    for key, value in rebuilt.acoustic.state_dict().items():
        ref = float_state[key]
        assert torch.allclose(value, ref, rtol=0, atol=float(ref.abs().max()) / 100 + 1e-7), key
        moved += not torch.equal(value, ref)
    assert moved >= 20  # the quantized MatMul and convolution weights

    with pytest.raises(ValueError, match="unknown weight format 'int4'"):
        export_voice(tiny_acoustic_run, tiny_vocoder_run, tmp_path / "x", weights="int4")
    with pytest.raises(ValueError, match="contradicts"):
        export_voice(tiny_acoustic_run, tiny_vocoder_run, tmp_path / "x", weights="int8", fp16=True)


def test_cli_export_int8(tiny_acoustic_run, tiny_vocoder_run, tmp_path, capsys):
    from flowaudio.cli import main

    out = tmp_path / "fast"
    argv = ["export", str(tiny_acoustic_run), "--vocoder", str(tiny_vocoder_run), "--out", str(out)]
    assert main([*argv, "--int8"]) == 0
    assert VoiceMeta.load(out).provenance["weights"] == "int8"
    ops = {node.op_type for node in onnx.load(str(out / C.VELOCITY_ONNX)).graph.node}
    assert "MatMulInteger" in ops
    capsys.readouterr()
    with pytest.raises(SystemExit):  # one weight format at a time
        main([*argv, "--int8", "--fp16"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_cli_export_reports_errors(tiny_acoustic_run, tmp_path, capsys):
    from flowaudio.cli import main

    argv = ["export", str(tiny_acoustic_run), "--vocoder", "griffin-lim"]
    assert main([*argv, "--out", str(tmp_path / "v"), "--fused", "--fused-steps", "2"]) == 1
    assert "needs a neural vocoder" in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "v"), "--fused-steps", "2"]) == 1
    assert "--fused-steps" in capsys.readouterr().err
    for bad, says in [
        ("steps", "KEY=VALUE"),
        ("steps=0", "steps must be an integer in [1, 128]"),
        ("guidance_scale=nan", "guidance_scale must be in [0, 10]"),
        ("speed=2", "unknown synthesis default 'speed'"),
        ("steps=two", "steps must be an integer"),
    ]:
        assert main([*argv, "--out", str(tmp_path / "v"), "--default", bad]) == 1
        assert says in capsys.readouterr().err, bad
    assert not (tmp_path / "v").exists()  # refused before anything is written


def test_float16_weights_keep_float32_io():
    node = onnx.helper.make_node("MatMul", ["x", "w"], ["y"])
    w = onnx.numpy_helper.from_array(np.linspace(-1, 1, 64 * 32, dtype=np.float32).reshape(64, 32))
    w.name = "w"
    graph = onnx.helper.make_graph(
        [node],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 64])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 32])],
        [w],
    )
    opsets = [onnx.helper.make_opsetid("", C.OPSET)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, ir_version=8)
    half = weights_to_float16(proto, min_elements=16)
    onnx.checker.check_model(half, full_check=True)
    x = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    session = ort.InferenceSession(half.SerializeToString(), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": x})
    w32 = onnx.numpy_helper.to_array(w)
    expected = x @ w32.astype(np.float16).astype(np.float32)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    assert y.dtype == np.float32
