"""A voice's graphs checked at load: readable, the files voice.json hashed, and the contract's.

Everything here runs once per graph when a voice loads (:class:`flowaudio.runtime.synthesizer.
OnnxBackend`), so a damaged, swapped or foreign graph is a :class:`VoiceFormatError` that names
the file and the fix, not silence or onnxruntime's message at the first synthesis:

1. the file can be read and is not empty;
2. its SHA-256 equals ``voice.json``'s ``graph_sha256`` entry, where the voice has one (voices
   exported before the hashes existed, like the shipped default voice, load unchecked);
3. onnxruntime can build a session from it;
4. its input and output names, and the fixed sizes of its axes (mel bands, speaker vector), are
   those :mod:`flowaudio.runtime.contract` gives for this graph and this voice;
5. its metadata names this graph (``flowaudio.graph``), a schema this runtime reads, and a copy
   of voice.json (``flowaudio.voice``, written by the export) that agrees with voice.json on
   every field but those a user may tune (``name``, ``defaults``, ``provenance``) and the hashes:
   a mel statistic, speaker vector, symbol or text setting edited in voice.json alone would load
   and speak wrong audio.

Cost of step 2, measured on the shipped default voice's 27 MB of graphs on a 2-core machine busy
with other jobs (load 6-8): 190-230 ms a load, against 1.0-2.6 s for building the three sessions
there; the session then reads the file from the page cache. The cheap steps run for every graph
before the first session is built, so a damaged voice fails in milliseconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flowaudio.runtime import contract as C
from flowaudio.runtime.contract import VoiceFormatError, VoiceMeta

__all__ = ["check_graph_files", "file_sha256", "open_graph"]

METADATA_GRAPH_KEY = "flowaudio.graph"
#: voice.json fields that may differ from the copy inside the graphs: the ones a user may tune,
#: and the hashes (a graph cannot hold its own hash).
EDITABLE_FIELDS = ("name", "defaults", "provenance", "graph_sha256")
_FIX = "re-export the voice with `flowaudio export` (or copy the voice directory again)"


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _expected_io(name: str, meta: VoiceMeta) -> tuple[set[str], set[str], set[str]]:
    """(required inputs, inputs allowed besides them, required outputs) of graph ``name``."""
    if name == C.ENCODER_ONNX:
        speaker = C.ENC_SPEAKERS if meta.speaker_mode == "id" else C.ENC_SPEAKER_EMBEDDING
        inputs = {C.ENC_IDS, C.ENC_ID_LENGTHS, C.ENC_LENGTH_SCALE, speaker}
        return inputs, set(), {C.ENC_MU, C.ENC_LOG_DURATIONS, C.ENC_SPEAKER_COND}
    if name == C.VELOCITY_ONNX:
        inputs = {C.VEL_X, C.VEL_T, C.VEL_MU_FRAMES, C.VEL_MEL_MASK, C.VEL_SPEAKER_COND}
        # a distilled interval student also takes the step size (contract schema 2)
        extra = {getattr(C, "VEL_DT", "dt")} if getattr(meta, "is_student", False) else set()
        return inputs, extra, {C.VEL_V}
    if name == C.VOCODER_ONNX:
        output = C.VOC_SPECTRUM if meta.vocoder_output == "spectrum" else C.VOC_AUDIO
        return {C.VOC_MEL}, set(), {output}
    raise ValueError(f"no contract for graph {name!r}")


def _fixed_sizes(name: str, meta: VoiceMeta) -> dict[str, tuple[int, int]]:
    """input name -> (axis, size) the voice fixes."""
    n_mels = meta.audio.get("n_mels")
    if name == C.ENCODER_ONNX and meta.speaker_mode == "embedding":
        return {C.ENC_SPEAKER_EMBEDDING: (1, meta.speaker_embedding_dim)}
    if name == C.VELOCITY_ONNX:
        return {
            C.VEL_X: (1, n_mels),
            C.VEL_MU_FRAMES: (1, n_mels),
            C.VEL_SPEAKER_COND: (1, meta.speaker_cond_dim),
        }
    if name == C.VOCODER_ONNX:
        return {C.VOC_MEL: (1, n_mels)}
    return {}


def check_graph_files(voice_dir: Path, names: Sequence[str], meta: VoiceMeta) -> None:
    """Steps 1 and 2 for every graph, before any session is built (the cheap checks first)."""
    for name in names:
        _read_checked(voice_dir / name, meta)


def _read_checked(path: Path, meta: VoiceMeta) -> None:
    try:
        size = path.stat().st_size
        expected = meta.graph_sha256.get(path.name)
        actual = file_sha256(path) if expected else None
    except OSError as exc:
        raise VoiceFormatError(
            f"{path} cannot be read ({exc.strerror or exc}); check its permissions"
        ) from None
    if size == 0:
        raise VoiceFormatError(f"{path} is empty (0 bytes); {_FIX}")
    if expected and actual != expected:
        raise VoiceFormatError(
            f"{path} is not the file this voice was exported with (SHA-256 {actual[:12]}..., "
            f"voice.json records {expected[:12]}...): it was damaged or replaced; {_FIX}"
        )


def _check_session(session: Any, path: Path, meta: VoiceMeta) -> None:
    name = path.name
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    required, allowed, wanted_out = _expected_io(name, meta)
    missing = sorted(required - set(inputs))
    unexpected = sorted(set(inputs) - required - allowed)
    missing_out = sorted(wanted_out - outputs)
    if missing or unexpected or missing_out:
        raise VoiceFormatError(
            f"{path} does not have the inputs and outputs of {name} (missing inputs "
            f"{missing}, unexpected inputs {unexpected}, missing outputs {missing_out}): a "
            f"graph of another kind or version; {_FIX}"
        )
    for input_name, (axis, size) in _fixed_sizes(name, meta).items():
        shape = inputs[input_name].shape
        got = shape[axis] if len(shape) > axis else None
        if isinstance(got, int) and isinstance(size, int) and got != size:
            raise VoiceFormatError(
                f"{path}: input {input_name!r} has {got} values on axis {axis}, voice.json says "
                f"{size}: the graph belongs to another voice; {_FIX}"
            )
    props = session.get_modelmeta().custom_metadata_map
    graph = props.get(METADATA_GRAPH_KEY)
    if graph is not None and f"{graph}.onnx" != name:
        raise VoiceFormatError(f"{path} is a {graph!r} graph, not {name}; {_FIX}")
    schema = props.get(C.METADATA_SCHEMA_KEY)
    if schema is None or not schema.isdigit():
        raise VoiceFormatError(
            f"{path} has no flowaudio metadata ({C.METADATA_SCHEMA_KEY}): not a graph of "
            f"`flowaudio export`; {_FIX}"
        )
    C.check_schema_version(int(schema), str(path))
    try:
        embedded = json.loads(props.get(C.METADATA_VOICE_KEY, "{}"))
    except (ValueError, RecursionError):
        embedded = None
    if not isinstance(embedded, dict):
        raise VoiceFormatError(f"{path}: its {C.METADATA_VOICE_KEY} metadata is not JSON; {_FIX}")
    ours = json.loads(meta.to_json())
    keys = (set(embedded) | set(ours)) - set(EDITABLE_FIELDS)
    differ = sorted(k for k in keys if embedded.get(k) != ours.get(k))
    if differ:
        raise VoiceFormatError(
            f"{path} and voice.json disagree on {', '.join(differ)}: voice.json was edited, or "
            f"the graph belongs to another voice (only {', '.join(EDITABLE_FIELDS[:3])} may be "
            f"changed by hand); {_FIX}"
        )


def open_graph(
    voice_dir: Path, name: str, meta: VoiceMeta, providers: Sequence[str], threads: int | None
) -> Any:
    """An onnxruntime session for graph ``name`` of the voice, with steps 3 to 5 (run
    :func:`check_graph_files` first)."""
    from flowaudio.runtime.session import make_session

    path = voice_dir / name
    try:
        session = make_session(path, providers, threads)
    except Exception as exc:  # onnxruntime raises several types for files it cannot parse
        message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise VoiceFormatError(
            f"{path} is not a readable ONNX graph (truncated or not ONNX: {message}); {_FIX}"
        ) from None
    _check_session(session, path, meta)
    return session
