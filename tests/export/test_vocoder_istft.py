"""A voice with the ISTFT on the host (vocoder.onnx gives the spectrum, voice schema 3) against
the same runs exported with the ISTFT in the graph (schema 2): the contract, the schema rules,
verification, the way back to torch, and every runtime path giving the same audio."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest

from flowaudio.export.from_voice import load_voice_models
from flowaudio.export.verify import verify_voice
from flowaudio.export.voice import IstftPlace, load_acoustic, load_vocoder
from flowaudio.runtime import contract as C
from flowaudio.runtime.contract import SynthesisConfig, VoiceFormatError, VoiceMeta
from flowaudio.runtime.synthesizer import Voice

TEXT = "Never put off until tomorrow. What you can do today."
# The two forms differ by float32 rounding of the ISTFT (~1e-7 of full scale in the tiny voice).
ATOL = 1e-5


@pytest.fixture(scope="module")
def voices(tiny_voice, tiny_spectrum_voice):
    """(graph form, host form) of the same runs, loaded with one thread."""
    return Voice.load(tiny_voice, threads=1), Voice.load(tiny_spectrum_voice, threads=1)


def _outputs(path):
    proto = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in proto.metadata_props}
    return [o.name for o in proto.graph.output], props[C.METADATA_SCHEMA_KEY]


def test_the_host_form_is_schema_3_and_the_graph_form_stays_schema_2(
    tiny_voice, tiny_spectrum_voice
):
    host = json.loads((tiny_spectrum_voice / C.VOICE_JSON).read_text())
    graph = json.loads((tiny_voice / C.VOICE_JSON).read_text())
    assert host["schema_version"] == C.SPECTRUM_SCHEMA_VERSION == 3
    assert host["vocoder_output"] == "spectrum"
    # A schema-2 voice.json has no new field, so runtimes from before schema 3 read it as ever.
    assert graph["schema_version"] == C.SCHEMA_VERSION == 2
    assert "vocoder_output" not in graph
    assert VoiceMeta.load(tiny_voice).vocoder_output == "audio"
    assert _outputs(tiny_spectrum_voice / C.VOCODER_ONNX) == ([C.VOC_SPECTRUM], "3")
    assert _outputs(tiny_voice / C.VOCODER_ONNX) == ([C.VOC_AUDIO], "2")
    assert _outputs(tiny_spectrum_voice / C.ENCODER_ONNX) == (
        [C.ENC_MU, C.ENC_LOG_DURATIONS, C.ENC_SPEAKER_COND],
        "3",
    )
    assert IstftPlace.parse("host").vocoder_output == "spectrum"
    with pytest.raises(ValueError, match="graph"):
        IstftPlace.parse("gpu")


def test_runtimes_before_schema_3_refuse_the_host_form(tiny_spectrum_voice, monkeypatch):
    text = (tiny_spectrum_voice / C.VOICE_JSON).read_text()
    monkeypatch.setattr(C, "SUPPORTED_SCHEMA_VERSIONS", (1, 2))  # what such a runtime reads
    with pytest.raises(VoiceFormatError, match="newer"):
        VoiceMeta.from_json(text)


def test_a_spectrum_vocoder_needs_schema_3_and_known_outputs(tiny_spectrum_voice):
    data = json.loads((tiny_spectrum_voice / C.VOICE_JSON).read_text())
    with pytest.raises(VoiceFormatError, match="schema 3"):
        VoiceMeta.from_json(json.dumps({**data, "schema_version": 2}))
    with pytest.raises(VoiceFormatError, match="vocoder_output"):
        VoiceMeta.from_json(json.dumps({**data, "vocoder_output": "wave"}))
    with pytest.raises(VoiceFormatError, match="schema 3"):
        VoiceMeta.from_json(json.dumps({**data, "vocoder": "griffin-lim"}))


def test_a_graph_of_the_other_form_is_refused_at_load(tiny_voice, tiny_spectrum_voice, tmp_path):
    copy = tmp_path / "voice"
    shutil.copytree(tiny_spectrum_voice, copy)
    data = json.loads((copy / C.VOICE_JSON).read_text())
    data["graph_sha256"] = {}  # past the hash check, to the contract's names
    (copy / C.VOICE_JSON).write_text(json.dumps(data))
    shutil.copy(tiny_voice / C.VOCODER_ONNX, copy / C.VOCODER_ONNX)
    with pytest.raises(VoiceFormatError, match="missing outputs \\['spectrum'\\]"):
        Voice.load(copy)


def test_the_host_form_verifies_against_torch(
    tiny_spectrum_voice, tiny_acoustic_run, tiny_vocoder_run
):
    acoustic, vocoder = load_acoustic(tiny_acoustic_run), load_vocoder(tiny_vocoder_run)
    report = verify_voice(tiny_spectrum_voice, acoustic.model, vocoder.model)
    assert report.ok
    rows = [row for row in report.rows if row.graph == "vocoder"]
    assert len(rows) == 2 and all(row.max_abs_error < 1e-4 for row in rows)


def test_the_host_form_rebuilds_the_same_torch_vocoder(tiny_voice, tiny_spectrum_voice):
    ours = load_voice_models(tiny_spectrum_voice).vocoder.state_dict()
    theirs = load_voice_models(tiny_voice).vocoder.state_dict()
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy(), err_msg=key)


def test_synthesize_batch_and_stream_give_the_same_audio_in_both_forms(voices):
    graph, host = voices
    config = SynthesisConfig(seed=5)
    a, b = graph.synthesize(TEXT, config=config), host.synthesize(TEXT, config=config)
    assert len(a.samples) == len(b.samples) > 0
    np.testing.assert_allclose(b.samples, a.samples, atol=ATOL, rtol=0)
    texts = ["Hello there.", "A longer sentence to pad the batch with."]
    for x, y in zip(
        graph.synthesize_batch(texts, config=config, batch_size=2),
        host.synthesize_batch(texts, config=config, batch_size=2),
        strict=True,
    ):
        np.testing.assert_allclose(y.samples, x.samples, atol=ATOL, rtol=0)
    chunks = {}
    for name, voice in (("graph", graph), ("host", host)):
        pieces = voice.stream(TEXT, config=config, chunk_frames=8, context_frames=4)
        chunks[name] = [c.samples for c in pieces]
    assert [len(c) for c in chunks["host"]] == [len(c) for c in chunks["graph"]]
    np.testing.assert_allclose(
        np.concatenate(chunks["host"]), np.concatenate(chunks["graph"]), atol=ATOL, rtol=0
    )


def test_the_host_form_runs_with_torch_unimportable(tiny_spectrum_voice, run_without_torch):
    code = f"""
import sys
import flowaudio
audio = flowaudio.synthesize("Hello there.", voice={str(tiny_spectrum_voice)!r}, seed=1)
assert audio.samples.dtype.name == "float32" and audio.duration > 0.1
assert "torch" not in sys.modules
print("ok")
"""
    proc = run_without_torch(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ok" in proc.stdout
