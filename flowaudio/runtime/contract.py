"""The ONNX voice contract: what ``export/`` writes and what the runtime reads.

This module is the only place where the two halves meet, so every graph name, input and output
name, metadata key, the schema version and the synthesis settings (:class:`SynthesisConfig`)
live here. No torch, no onnxruntime (numpy through the flow math's time grids).

A voice is a directory::

    VOICE_DIR/voice.json      VoiceMeta below (schema_version first)
    VOICE_DIR/encoder.onnx    text -> per-token prior and durations
    VOICE_DIR/velocity.onnx   one velocity evaluation of the flow ODE
    VOICE_DIR/vocoder.onnx    log-mel -> waveform, or its spectrum (schema 3; absent when the
                              vocoder is "griffin-lim")
    VOICE_DIR/fused.onnx      optional: ids -> audio with a fixed step count (Euler)

Every graph also carries the voice.json content in its ``metadata_props`` (key
``flowaudio.voice``) and the schema version (key ``flowaudio.schema_version``), so a single
.onnx file still describes itself.

Graphs (B batch, L tokens, T frames, C = n_mels, S = speaker vector size, all float32 unless
noted). Every axis named here is dynamic:

encoder.onnx
    inputs:  ids (B, L) int64; id_lengths (B,) int64; length_scale (B,);
             speakers (B,) int64 (speaker_mode "id") or speaker_embedding (B, E)
             (speaker_mode "embedding")
    outputs: mu (B, C, L) prior mean in *normalised* mel space; log_durations (B, 1, L)
             natural log of frames per token, length_scale already applied, 0 on padding;
             speaker_cond (B, S) the decoder's speaker vector

velocity.onnx
    inputs:  x (B, C, T) the ODE state; t (B,) time in [0, 1] (0 = noise, 1 = data);
             mu_frames (B, C, T) mu expanded to frames (zeros for the unconditional pass);
             mel_mask (B, 1, T) 1 on real frames; speaker_cond (B, S);
             schema 2, interval students only: dt (B,) the step size
    outputs: v (B, C, T) velocity, 0 on padding (an interval student: the mean velocity over
             [t, t + dt], so a step is x + dt v)

Schema 2 (new in flowaudio 0.2) adds ``distillation`` to voice.json: null for a voice trained by
flow matching, or for a student of ``flowaudio distill`` the method (``reflow`` or
``interval``), the teacher it came from and the targets' settings. A student folds the teacher's
guidance in: the runtime runs no unconditional pass for it and refuses guidance_scale != 1.
An ``interval`` student's velocity graph takes ``dt`` and samples with Euler only. Schema-1
voices load as before (no distillation).

vocoder.onnx
    inputs:  mel (B, C, T) de-normalised log-mel (the feature definition of flowaudio.audio.mel)
    outputs: voice.json ``vocoder_output`` "audio" (absent: "audio"): audio (B, T * hop) in
             [-1, 1], the ISTFT inside the graph;
             "spectrum" (schema 3): spectrum (B, 2, F, T), F = n_fft // 2 + 1, the real
             (channel 0) and imaginary (channel 1) parts of the STFT the host inverts with
             flowaudio.audio.istft.spectrum_to_audio (ISTFT, then the clip to [-1, 1])

Schema 3 (the host ISTFT) is written only for a voice whose vocoder graph ends at the
spectrum (``vocoder_output: "spectrum"``), so that older runtimes, which would read the spectrum
as audio, refuse it; every other voice is still written as schema 2 (without the field) and
loads in older runtimes as before.

fused.onnx (optional)
    inputs:  ids, id_lengths, length_scale, speakers | speaker_embedding, noise (B, C, T_max)
             the initial state already scaled, x0 = temperature * N(0, I); frames past T_max
             are cut
    outputs: audio (B, T * hop), audio_lengths (B,) int64; ``fused_steps`` Euler steps on a
             uniform grid, guidance 1

On the host (``flowaudio.runtime.synthesizer``): durations follow :func:`frames_per_token`
(cumulative rounding of exp(log_durations), at most MAX_FRAMES_PER_TOKEN a token, the one
rule of torch synthesis, the host and the fused graph); mu is expanded to frames by repetition;
x0 = temperature * N(0, I) is drawn with numpy from the seed; the ODE runs with
``flowaudio.flow.solvers`` over a time grid chosen at run time; classifier-free guidance
runs velocity on a doubled batch (the second half is the unconditional pass: zeros for
mu_frames and ``null_speaker_cond`` from voice.json) and combines v_u + g (v_c - v_u); the
result y is
de-normalised with mel = y * mel_std + mel_mean, padded frames are set to log(log_floor), and
the vocoder turns it into audio, trimmed to T_i * hop per item.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from flowaudio.flow.schedules import Schedule
from flowaudio.flow.solvers import Solver
from flowaudio.text.language import LanguageCheck

#: The schema written for a voice that needs nothing newer (its vocoder graph gives audio).
SCHEMA_VERSION = 2
#: The schema written for a voice whose vocoder graph gives the spectrum (ISTFT on the host).
SPECTRUM_SCHEMA_VERSION = 3
#: Schema versions this runtime can read.
SUPPORTED_SCHEMA_VERSIONS = (1, 2, 3)

VOICE_JSON = "voice.json"


def is_voice_source(source: str | Path) -> bool:
    """True when ``source`` names a voice (``"default"`` or a directory holding voice.json)
    rather than a training run or checkpoint."""
    return str(source) == "default" or (Path(source) / VOICE_JSON).is_file()


ENCODER_ONNX = "encoder.onnx"
VELOCITY_ONNX = "velocity.onnx"
VOCODER_ONNX = "vocoder.onnx"
FUSED_ONNX = "fused.onnx"

METADATA_VOICE_KEY = "flowaudio.voice"
METADATA_SCHEMA_KEY = "flowaudio.schema_version"

OPSET = 17

#: Cap on one token's duration (host and fused graph alike): a duration predictor gone wild
#: must not allocate gigabytes.
MAX_FRAMES_PER_TOKEN = 100


def frames_per_token(log_durations: Any, token_mask: Any, xp: Any) -> Any:
    """The duration rule: predicted log durations -> whole frames per token.

    ``w = exp(min(log d, log MAX_FRAMES_PER_TOKEN))`` on real tokens (0 on padding), then
    cumulative rounding: token k ends at frame ``floor(W_k + 1/2)`` with ``W_k = w_1 + ... +
    w_k``, so ``d_k = floor(W_k + 1/2) - floor(W_k - w_k + 1/2)``. The total is the rounded sum of
    the predictions, never more than half a frame off; rounding every token up instead (the old
    ``max(1, ceil(w))``) added half a frame a token on average and made the default voice speak
    25-33% slower than its teachers (measured on the 80 held-out sentences). A token may get 0
    frames when its prediction is well under one; the first token of an item gets at least one,
    so no item is empty.

    Args:
        log_durations: (B, L) natural-log frames (length_scale already applied), numpy or torch.
        token_mask: (B, L) 1 on real tokens, 0 on padding, the same array type.
        xp: the array module of both (``numpy`` or ``torch``); NaN predictions count as 0 frames.

    Returns:
        (B, L) int64 frames, 0 on padding.
    """
    log_d = xp.nan_to_num(log_durations, nan=-30.0).clip(max=math.log(MAX_FRAMES_PER_TOKEN))
    w = xp.exp(log_d) * token_mask
    ends = w.cumsum(-1)
    d = xp.floor(ends + 0.5) - xp.floor(ends - w + 0.5)
    d[:, 0] = d[:, 0].clip(min=1.0)
    d = d * token_mask
    return d.astype("int64") if xp.__name__ == "numpy" else d.to(xp.int64)


# Graph I/O names
ENC_IDS = "ids"
ENC_ID_LENGTHS = "id_lengths"
ENC_LENGTH_SCALE = "length_scale"
ENC_SPEAKERS = "speakers"
ENC_SPEAKER_EMBEDDING = "speaker_embedding"
ENC_MU = "mu"
ENC_LOG_DURATIONS = "log_durations"
ENC_SPEAKER_COND = "speaker_cond"

VEL_X = "x"
VEL_T = "t"
VEL_MU_FRAMES = "mu_frames"
VEL_MEL_MASK = "mel_mask"
VEL_SPEAKER_COND = "speaker_cond"
VEL_DT = "dt"
VEL_V = "v"

VOC_MEL = "mel"
VOC_AUDIO = "audio"
VOC_SPECTRUM = "spectrum"

FUSED_NOISE = "noise"
FUSED_AUDIO = "audio"
FUSED_AUDIO_LENGTHS = "audio_lengths"

SPEAKER_MODES = ("id", "embedding")
VOCODER_KINDS = ("onnx", "griffin-lim")
#: What vocoder.onnx gives: "audio" (the ISTFT in the graph) or "spectrum" (on the host).
VOCODER_OUTPUTS = ("audio", "spectrum")
SOLVERS = tuple(s.value for s in Solver)
SCHEDULES = tuple(s.value for s in Schedule)


class VoiceFormatError(ValueError):
    """A voice directory or file does not follow this contract (the message says what to do)."""


#: Most ODE steps a call may ask for (and a fused graph may bake in): the one step limit of the
#: CLI, the server and the evaluation grid.
MAX_STEPS = 128
#: Allowed ranges of the numeric synthesis settings, inclusive; the one place they are written.
SETTING_RANGES: dict[str, tuple[float, float]] = {
    "steps": (1, MAX_STEPS),
    "temperature": (0.0, 2.0),
    "guidance_scale": (0.0, 10.0),
    "speed": (0.25, 4.0),
    "length_scale": (0.1, 10.0),
    "sentence_pause": (0.0, 5.0),
}


class SettingError(ValueError):
    """A synthesis setting out of range or of the wrong type; ``field`` names the setting."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _real_in(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SettingError(name, f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise SettingError(name, f"{name} must be in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def check_setting(name: str, value: Any) -> Any:
    """``value`` if the runtime accepts it for the synthesis setting ``name`` (solver and
    schedule as :class:`Solver` / :class:`Schedule`, case-insensitive), else a
    :class:`SettingError` that names the setting and the allowed range."""
    if name == "steps":
        integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if not (integral and 1 <= value <= MAX_STEPS):
            raise SettingError(name, f"steps must be an integer in [1, {MAX_STEPS}], got {value!r}")
        return int(value)
    try:
        if name == "solver":
            return Solver.parse(value)
        if name == "schedule":
            return Schedule.parse(value)
    except (ValueError, TypeError) as exc:
        raise SettingError(name, str(exc)) from None
    if name in SETTING_RANGES:
        return _real_in(name, value, *SETTING_RANGES[name])
    raise SettingError(name, f"unknown synthesis setting {name!r}")


@dataclass(frozen=True)
class SynthesisDefaults:
    """Per-call settings a voice recommends (``voice.json``'s ``defaults``); a
    :class:`SynthesisConfig` overrides any of them at synthesis time."""

    steps: int = 4
    solver: Solver = Solver.EULER
    schedule: Schedule = Schedule.UNIFORM
    temperature: float = 0.667
    length_scale: float = 1.0
    guidance_scale: float = 1.0
    sentence_pause: float = 0.25
    """Seconds of silence between sentences of a long text."""

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, check_setting(f.name, getattr(self, f.name)))

    def with_settings(self, settings: Mapping[str, Any]) -> SynthesisDefaults:
        """A copy with ``settings`` replaced; string values (``"2"``, ``"1.5"``, from a
        command line) are converted to the field's type. Unknown names are a ValueError."""
        known = [f.name for f in fields(self)]
        changes = {}
        for key, value in settings.items():
            if key not in known:
                raise ValueError(
                    f"unknown synthesis default {key!r}; choose from {', '.join(known)}"
                )
            kind = type(getattr(self, key))  # int, float or a str enum
            if isinstance(value, str) and kind in (int, float):
                try:
                    value = kind(value)
                except ValueError:
                    what = "an integer" if kind is int else "a number"
                    raise ValueError(f"{key} must be {what}, got {value!r}") from None
            changes[key] = value
        return replace(self, **changes)


@dataclass(frozen=True)
class SynthesisConfig:
    """The settings of one synthesis call, built once at the edge (CLI, server request, Python
    call) and passed down to the ODE loop unchanged. ``None`` means the voice's default
    (:class:`SynthesisDefaults`), as in Piper's ``SynthesisConfig``; every given value is
    checked here against :data:`SETTING_RANGES` (a :class:`SettingError` naming the field).

    Example: ``voice.synthesize("Hello.", config=SynthesisConfig(steps=8, solver="rk4"))``.
    """

    steps: int | None = None
    """ODE steps, 1 to MAX_STEPS."""
    solver: Solver | None = None
    """euler, midpoint, heun or rk4 (a string is parsed once, here)."""
    schedule: Schedule | None = None
    """Time grid: uniform or sway."""
    temperature: float | None = None
    """Scale of the initial noise x0 = temperature * N(0, I)."""
    guidance_scale: float | None = None
    """Classifier-free guidance g (1: none; a distilled voice accepts only 1)."""
    speed: float = 1.0
    """> 1 speaks faster: the voice's length_scale is divided by it."""
    seed: int | None = None
    """The same seed gives the same audio; None draws a fresh one per call."""
    language_check: LanguageCheck = LanguageCheck.WARN
    """Text that looks like another language than the voice's: warn (log, then read it),
    strict (refuse it: a ValueError) or off (see :mod:`flowaudio.text.language`)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "language_check":
                try:
                    object.__setattr__(self, f.name, LanguageCheck.parse(value))
                except (ValueError, TypeError) as exc:
                    raise SettingError(f.name, str(exc)) from None
            elif f.name == "seed":
                if value is not None and (
                    isinstance(value, bool) or not isinstance(value, int) or value < 0
                ):
                    raise SettingError(
                        "seed", f"seed must be a non-negative integer, got {value!r}"
                    )
            elif value is not None:
                object.__setattr__(self, f.name, check_setting(f.name, value))

    def resolve(self, defaults: SynthesisDefaults) -> SynthesisConfig:
        """A copy with every None replaced by the voice's default (the seed excepted)."""
        return replace(
            self,
            **{
                name: getattr(defaults, name)
                for name in ("steps", "solver", "schedule", "temperature", "guidance_scale")
                if getattr(self, name) is None
            },
        )


@dataclass(frozen=True)
class VoiceMeta:
    """Everything the runtime needs to use a voice, as stored in ``voice.json``.

    ``audio`` and ``text`` hold the fields of :class:`flowaudio.audio.config.AudioConfig` and
    :class:`flowaudio.text.config.TextConfig`; ``symbols`` the symbol table dict
    (``SymbolTable.to_dict``); ``provenance`` free-form facts about how the voice was made
    (model config, steps trained, corpus, flowaudio version, export date).
    """

    schema_version: int
    name: str
    audio: dict[str, Any]
    text: dict[str, Any]
    symbols: dict[str, Any]
    speakers: tuple[str, ...]
    speaker_mode: str
    speaker_embedding_dim: int
    speaker_cond_dim: int
    null_speaker_cond: tuple[float, ...]
    mel_mean: float
    mel_std: float
    vocoder: str
    defaults: SynthesisDefaults = field(default_factory=SynthesisDefaults)
    fused_steps: int | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    graph_sha256: dict[str, str] = field(default_factory=dict)
    """SHA-256 of each graph file by name (``encoder.onnx``: hex digest), written by the export
    and checked at load; a voice without it (made before) loads unchecked."""
    distillation: dict[str, Any] | None = None
    """Schema 2: how a student was distilled (``method``, ``teacher``, ...), None otherwise."""
    vocoder_output: str = "audio"
    """What vocoder.onnx gives (:data:`VOCODER_OUTPUTS`): ``"audio"``, or (schema 3)
    ``"spectrum"`` for the host's ISTFT. Left out of voice.json when ``"audio"``, so a schema-2
    voice reads as before in runtimes that do not know the field."""

    @staticmethod
    def schema_for(vocoder_output: str) -> int:
        """The schema version a voice with this vocoder output is written with."""
        return SPECTRUM_SCHEMA_VERSION if vocoder_output == "spectrum" else SCHEMA_VERSION

    @property
    def is_student(self) -> bool:
        """A distilled voice: guidance is folded into its velocity network."""
        return self.distillation is not None

    def to_json(self) -> str:
        from dataclasses import asdict

        data = asdict(self)
        data["speakers"] = list(self.speakers)
        data["null_speaker_cond"] = list(self.null_speaker_cond)
        if self.vocoder_output == "audio":
            del data["vocoder_output"]
        return json.dumps(data, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, where: str = VOICE_JSON) -> VoiceMeta:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            raise VoiceFormatError(
                f"{where}: not valid JSON ({str(exc)[:200]}); re-export the voice with "
                "`flowaudio export`"
            ) from None
        if not isinstance(data, dict):
            raise VoiceFormatError(f"{where}: expected a JSON object")
        check_schema_version(data.get("schema_version"), where)
        check_voice_fields(data, where)
        try:
            defaults = SynthesisDefaults(**data.pop("defaults", {}))
            meta = cls(
                **{
                    **data,
                    "speakers": tuple(data["speakers"]),
                    "null_speaker_cond": tuple(float(x) for x in data["null_speaker_cond"]),
                    "defaults": defaults,
                }
            )
        except (TypeError, KeyError, ValueError) as exc:
            raise VoiceFormatError(
                f"{where}: does not match voice schema {SCHEMA_VERSION} ({exc}); re-export the "
                "voice with `flowaudio export`"
            ) from exc
        if meta.speaker_mode not in SPEAKER_MODES:
            raise VoiceFormatError(f"{where}: speaker_mode must be one of {SPEAKER_MODES}")
        if meta.distillation is not None:
            if meta.schema_version < 2 or not isinstance(meta.distillation, dict):
                raise VoiceFormatError(
                    f"{where}: 'distillation' needs voice schema 2 and a JSON object; re-export "
                    "the voice with `flowaudio export`"
                )
            if meta.defaults.guidance_scale != 1.0:
                raise VoiceFormatError(
                    f"{where}: a distilled voice folds guidance in, so its default "
                    f"guidance_scale must be 1, got {meta.defaults.guidance_scale}"
                )
        if meta.vocoder not in VOCODER_KINDS:
            raise VoiceFormatError(f"{where}: vocoder must be one of {VOCODER_KINDS}")
        if meta.vocoder_output not in VOCODER_OUTPUTS:
            raise _bad(where, "vocoder_output", f"one of {VOCODER_OUTPUTS}", meta.vocoder_output)
        if meta.vocoder_output == "spectrum" and (
            meta.schema_version < SPECTRUM_SCHEMA_VERSION or meta.vocoder != "onnx"
        ):
            raise VoiceFormatError(
                f"{where}: 'vocoder_output: spectrum' needs voice schema "
                f"{SPECTRUM_SCHEMA_VERSION} and vocoder 'onnx' (got schema {meta.schema_version}, "
                f"vocoder {meta.vocoder!r}); re-export the voice with `flowaudio export`"
            )
        return meta

    @classmethod
    def load(cls, voice_dir: str | Path) -> VoiceMeta:
        path = Path(voice_dir) / VOICE_JSON
        if not path.is_file():
            raise VoiceFormatError(
                f"{voice_dir} is not a flowaudio voice (no {VOICE_JSON}); export one with "
                "`flowaudio export RUN_DIR --vocoder VOCODER_RUN_DIR --out VOICE_DIR`"
            )
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise VoiceFormatError(
                f"{path} cannot be read ({exc.strerror or exc}); check its permissions"
            ) from None
        except UnicodeDecodeError as exc:
            raise VoiceFormatError(
                f"{path} is not UTF-8 text (byte {exc.start}); re-export the voice with "
                "`flowaudio export`, or save the file as UTF-8"
            ) from None
        return cls.from_json(text, str(path))


def check_schema_version(version: object, where: str) -> None:
    """Refuse voices of unknown schema versions with a message that says what to do."""
    if version in SUPPORTED_SCHEMA_VERSIONS:
        return
    if isinstance(version, int) and version > max(SUPPORTED_SCHEMA_VERSIONS):
        raise VoiceFormatError(
            f"{where} uses voice schema {version}, newer than this flowaudio understands "
            f"(schema {', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}): upgrade flowaudio "
            "(pip install -U flowaudio)"
        )
    raise VoiceFormatError(
        f"{where} has voice schema {version!r}, which this flowaudio does not read "
        f"(schema {', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}): re-export the voice with "
        "this version's `flowaudio export`"
    )


def _bad(where: str, key: str, wanted: str, value: Any) -> VoiceFormatError:
    shown = repr(value)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return VoiceFormatError(
        f"{where}: {key!r} must be {wanted}, got {shown}; re-export the voice with "
        "`flowaudio export` (or correct the field)"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_voice_fields(data: Mapping[str, Any], where: str = VOICE_JSON) -> None:
    """Refuse a voice.json whose values would load and then speak silence or wrong audio.

    Types first (a string ``speakers`` is not a list of speakers), then numbers: every value the
    runtime multiplies with must be finite, ``mel_std`` positive, the null speaker vector of
    ``speaker_cond_dim`` finite values, speakers unique names, and a published symbol table
    exactly the published one (a reordered table maps every phoneme to another).
    """
    from flowaudio.text.symbols import SYMBOL_TABLES  # pure Python, imported on use

    for key in ("audio", "text", "symbols"):
        if key in data and not isinstance(data[key], dict):
            raise _bad(where, key, "a JSON object", data[key])
    for key in ("provenance", "graph_sha256"):
        if key in data and not isinstance(data[key], dict):
            raise _bad(where, key, "a JSON object", data[key])
    if "name" in data and not isinstance(data["name"], str):
        raise _bad(where, "name", "a string", data["name"])
    speakers = data.get("speakers")
    if not (
        isinstance(speakers, list)
        and all(isinstance(s, str) and s for s in speakers)
        and len(set(speakers)) == len(speakers)
    ):
        raise _bad(where, "speakers", "a list of distinct non-empty names", speakers)
    if data.get("speaker_mode") == "id" and not speakers:
        raise _bad(where, "speakers", "at least one name for speaker_mode 'id'", speakers)
    for key in ("speaker_embedding_dim", "speaker_cond_dim"):
        if not (_is_int(data.get(key)) and 0 <= data[key] <= 65536):
            raise _bad(where, key, "an integer in [0, 65536]", data.get(key))
    null = data.get("null_speaker_cond")
    if not (
        isinstance(null, list)
        and len(null) == data["speaker_cond_dim"]
        and all(_is_real(x) and math.isfinite(x) for x in null)
    ):
        raise _bad(
            where,
            "null_speaker_cond",
            f"a list of {data['speaker_cond_dim']} finite numbers (speaker_cond_dim)",
            null,
        )
    mean, std = data.get("mel_mean"), data.get("mel_std")
    if not (_is_real(mean) and math.isfinite(mean)):
        raise _bad(where, "mel_mean", "a finite number", mean)
    if not (_is_real(std) and math.isfinite(std) and std > 0):
        raise _bad(where, "mel_std", "a finite number > 0", std)
    steps = data.get("fused_steps")
    if steps is not None and not (_is_int(steps) and 1 <= steps <= MAX_STEPS):
        raise _bad(where, "fused_steps", f"null or an integer in [1, {MAX_STEPS}]", steps)
    hashes = data.get("graph_sha256", {})
    for name, digest in hashes.items():
        valid = isinstance(digest, str) and len(digest) == 64
        if name not in GRAPH_FILES or not valid or any(c not in "0123456789abcdef" for c in digest):
            raise _bad(
                where, "graph_sha256", f"{{graph file: hex SHA-256}} for {GRAPH_FILES}", hashes
            )
    symbols = data.get("symbols", {})
    table, version = symbols.get("symbols"), symbols.get("version")
    if not (isinstance(table, list) and all(isinstance(x, str) for x in table)):
        raise _bad(where, "symbols.symbols", "a list of strings", table)
    if not isinstance(version, str):
        raise _bad(where, "symbols.version", "a string", version)
    published = SYMBOL_TABLES.get(version)
    if published is not None and tuple(table) != tuple(published):
        raise VoiceFormatError(
            f"{where}: 'symbols' claims the published table {version!r} but differs from it "
            "(reordered, edited or duplicated symbols would give every phoneme another id); "
            "re-export the voice with `flowaudio export`"
        )
    if len(set(table)) != len(table):
        raise _bad(where, "symbols.symbols", "distinct symbols", table)


GRAPH_FILES = (ENCODER_ONNX, VELOCITY_ONNX, VOCODER_ONNX, FUSED_ONNX)
