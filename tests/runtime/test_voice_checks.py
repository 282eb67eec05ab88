"""A voice is checked before it speaks: voice.json by type and number, each graph by hash, names
and metadata; every broken voice is a VoiceFormatError that names the file (and a seeded fuzz of
a few hundred corruptions finds nothing else but the voice's own audio)."""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from flowaudio.runtime import contract as C
from flowaudio.runtime.contract import VoiceFormatError
from flowaudio.runtime.graphcheck import file_sha256
from flowaudio.runtime.synthesizer import Voice

GRAPHS = (C.ENCODER_ONNX, C.VELOCITY_ONNX, C.VOCODER_ONNX)
SAY = {"text": "Hello there.", "seed": 0, "steps": 2, "temperature": 0.5, "guidance_scale": 1.0}


@pytest.fixture(scope="module")
def reference(tiny_voice):
    return Voice.load(tiny_voice, threads=1).synthesize(**SAY).samples


def _copy(tiny_voice: Path, dest: Path) -> Path:
    shutil.copytree(tiny_voice, dest)
    return dest


def _edit(voice: Path, change) -> None:
    data = json.loads((voice / C.VOICE_JSON).read_text(encoding="utf-8"))
    change(data)
    (voice / C.VOICE_JSON).write_text(json.dumps(data), encoding="utf-8")


def test_export_records_graph_hashes_that_load_checks(tiny_voice, tmp_path):
    meta = C.VoiceMeta.load(tiny_voice)
    assert meta.graph_sha256 == {name: file_sha256(tiny_voice / name) for name in GRAPHS}
    voice = _copy(tiny_voice, tmp_path / "v")
    data = bytearray((voice / C.VELOCITY_ONNX).read_bytes())
    data[len(data) // 2] ^= 0x10  # one bit of one weight
    (voice / C.VELOCITY_ONNX).write_bytes(bytes(data))
    with pytest.raises(VoiceFormatError, match=r"velocity\.onnx is not the file .*SHA-256"):
        Voice.load(voice)
    # a voice without hashes (exported before them, like the shipped default) still loads
    _edit(voice, lambda d: d.pop("graph_sha256"))
    Voice.load(voice, threads=1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("null_speaker_cond", "nan", "null_speaker_cond"),
        ("null_speaker_cond", "inf", "null_speaker_cond"),
        ("mel_std", math.nan, "mel_std"),
        ("mel_std", -2.0, "mel_std"),
        ("mel_std", 0.0, "mel_std"),
        ("mel_mean", math.inf, "mel_mean"),
        ("speakers", "slt", "speakers"),
        ("speakers", ["rms", "rms"], "speakers"),
        ("speaker_cond_dim", "16", "speaker_cond_dim"),
        ("symbols", "reversed", "published table"),
        ("symbols", "duplicate", "published table"),
        ("fused_steps", 0, "fused_steps"),
        ("graph_sha256", {"encoder.onnx": "00"}, "graph_sha256"),
    ],
)
def test_voice_json_is_checked_by_type_and_number(tiny_voice, tmp_path, field, value, message):
    voice = _copy(tiny_voice, tmp_path / "v")

    def change(data):
        if field == "null_speaker_cond":
            data[field][0] = float(value)
        elif field == "symbols":
            table = data["symbols"]["symbols"]
            specials, rest = table[:4], table[4:]
            data["symbols"]["symbols"] = specials + (rest[::-1] if value == "reversed" else rest)
            if value == "duplicate":
                data["symbols"]["symbols"][5] = data["symbols"]["symbols"][6]
        else:
            data[field] = value

    _edit(voice, change)
    with pytest.raises(VoiceFormatError, match=message) as err:
        Voice.load(voice)
    assert "voice.json" in str(err.value)


def test_voice_json_edited_apart_from_its_graphs_is_refused(tiny_voice, tmp_path):
    voice = _copy(tiny_voice, tmp_path / "v")
    _edit(voice, lambda d: d.update(mel_std=d["mel_std"] * 1.01))  # valid, but not the voice's
    with pytest.raises(VoiceFormatError, match="disagree on mel_std"):
        Voice.load(voice)
    voice = _copy(tiny_voice, tmp_path / "w")
    _edit(voice, lambda d: d.update(name="renamed", provenance={}))  # what a user may change
    assert Voice.load(voice, threads=1).meta.name == "renamed"


def test_swapped_and_broken_graph_files_name_the_file(tiny_voice, tmp_path):
    voice = _copy(tiny_voice, tmp_path / "v")
    _edit(voice, lambda d: d.pop("graph_sha256"))  # so that the graph checks themselves run
    enc, vel = voice / C.ENCODER_ONNX, voice / C.VELOCITY_ONNX
    good_enc, good_vel = enc.read_bytes(), vel.read_bytes()
    enc.write_bytes(good_vel)
    vel.write_bytes(good_enc)
    with pytest.raises(VoiceFormatError, match=r"encoder\.onnx does not have the inputs"):
        Voice.load(voice)
    vel.write_bytes(good_vel)
    for broken, what in (
        (good_enc[: len(good_enc) // 2], "not a readable ONNX graph"),
        (b"", "is empty"),
        (b"<html>not found</html>", "not a readable ONNX graph"),
    ):
        enc.write_bytes(broken)
        with pytest.raises(VoiceFormatError, match=what) as err:
            Voice.load(voice)
        assert str(enc) in str(err.value) and "re-export" in str(err.value)


def test_unreadable_undecodable_and_nested_voice_json(tiny_voice, tmp_path, monkeypatch):
    voice = _copy(tiny_voice, tmp_path / "v")
    path = voice / C.VOICE_JSON
    good = path.read_bytes()
    path.write_bytes(good.replace(b'"tiny"', b'"caf\xe9"'))
    with pytest.raises(VoiceFormatError, match="not UTF-8"):
        Voice.load(voice)
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(VoiceFormatError, match="not valid JSON"):
        Voice.load(voice)
    path.write_bytes(good)
    original = Path.read_bytes

    def denied(self):
        if self.name == C.VOICE_JSON:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", denied)  # root reads every file: simulate a mode
    with pytest.raises(VoiceFormatError, match=r"cannot be read .*Permission denied"):
        Voice.load(voice)


def test_an_unknown_phonemizer_is_its_own_error(tiny_voice, tmp_path):
    voice = _copy(tiny_voice, tmp_path / "v")
    _edit(voice, lambda d: d["text"].update(phonemizer="bogus"))
    for graph in GRAPHS:  # the graphs carry the same text settings: keep them consistent
        _rewrite_embedded(voice / graph, lambda d: d["text"].update(phonemizer="bogus"))
    _edit(voice, lambda d: d.pop("graph_sha256"))
    with pytest.raises(VoiceFormatError, match="unknown phonemizer backend 'bogus'"):
        Voice.load(voice)


def _rewrite_embedded(graph: Path, change) -> None:
    import onnx

    proto = onnx.load(str(graph))
    for prop in proto.metadata_props:
        if prop.key == C.METADATA_VOICE_KEY:
            data = json.loads(prop.value)
            change(data)
            prop.value = json.dumps(data)
    onnx.save(proto, str(graph))


# ---------------------------------------------------------------------------------------------
# fuzz

_HOSTILE = [math.nan, math.inf, -math.inf, -1, 0, 1e308, -1e-300, "", "slt", "nan", [], {}, None,
            True, [1, 2, 3], {"a": 1}, "x" * 1000, 2**70]  # fmt: skip


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list) and node:
        yield from _paths(node[0], (*prefix, 0))
        yield from _paths(node[-1], (*prefix, len(node) - 1))


def _mutate_json(data: dict, rng: random.Random) -> tuple[str, ...]:
    """Change one place of ``data`` (each top-level field as likely); -> its path."""
    top = rng.choice(sorted(data))
    path = rng.choice(list(_paths(data[top], (top,))))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and rng.random() < 0.2:
        del parent[path[-1]]
    else:
        parent[path[-1]] = rng.choice(_HOSTILE)
    return path


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:
        return data[: rng.randrange(len(data))]
    if kind == 1:
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        return bytes(out)
    if kind == 2:
        return b""
    return rng.randbytes(rng.randint(1, 64))


def test_fuzzed_voices_fail_as_voice_format_errors_or_speak_correctly(
    tiny_voice, tmp_path, reference
):
    """300 seeded corruptions of voice.json (fields, bytes) and of graphs (with and without the
    hashes), each loaded: the only outcomes allowed are VoiceFormatError and the reference audio
    (for a change of a field users may edit)."""
    work = _copy(tiny_voice, tmp_path / "v")
    good_json = (work / C.VOICE_JSON).read_bytes()
    good_graphs = {name: (work / name).read_bytes() for name in GRAPHS}
    original = json.loads(C.VoiceMeta.from_json(good_json.decode("utf-8")).to_json())
    no_hashes = json.loads(good_json)
    no_hashes.pop("graph_sha256")
    outcomes = {"VoiceFormatError": 0, "same audio": 0, "edited defaults": 0}
    named = []  # whether each error names the file
    start = time.perf_counter()
    for case in range(300):
        rng = random.Random(case)
        (work / C.VOICE_JSON).write_bytes(good_json)
        for name, data in good_graphs.items():
            (work / name).write_bytes(data)
        kind = rng.randrange(3)
        path: tuple = ()
        if kind == 0:  # one field of voice.json
            data = json.loads(good_json)
            path = _mutate_json(data, rng)
            (work / C.VOICE_JSON).write_text(json.dumps(data), encoding="utf-8")
        elif kind == 1:  # voice.json's bytes
            (work / C.VOICE_JSON).write_bytes(_mutate_bytes(good_json, rng))
        else:  # a graph; a third of them in a voice without hashes, so the graph checks run
            name = rng.choice(GRAPHS)
            if rng.random() < 0.33:
                (work / C.VOICE_JSON).write_text(json.dumps(no_hashes), encoding="utf-8")
                mutated = good_graphs[rng.choice(GRAPHS)] if rng.random() < 0.5 else b""
                mutated = mutated[: rng.randrange(len(mutated) + 1)]
            else:
                mutated = _mutate_bytes(good_graphs[name], rng)
            (work / name).write_bytes(mutated)
        try:
            voice = Voice.load(work, threads=1)
        except VoiceFormatError as exc:
            named.append(str(work) in str(exc) or "voice.json" in str(exc))
            outcomes["VoiceFormatError"] += 1
            continue
        audio = voice.synthesize(**SAY).samples
        loaded = json.loads(voice.meta.to_json())
        changed = {k for k in set(loaded) | set(original) if loaded.get(k) != original.get(k)}
        if "defaults" in changed:  # a tuned default: other settings, still sound audio
            assert np.all(np.isfinite(audio)) and np.abs(audio).max() <= 1.0
            outcomes["edited defaults"] += 1
        else:
            assert changed <= {"name", "provenance", "graph_sha256"}, (case, path, changed)
            np.testing.assert_array_equal(audio, reference, err_msg=f"case {case} {path}")
            outcomes["same audio"] += 1
    elapsed = time.perf_counter() - start
    assert outcomes["VoiceFormatError"] > 200, outcomes
    assert all(named)
    assert elapsed < 120, f"{elapsed:.0f} s for 300 cases: keep the fuzz cheap"
