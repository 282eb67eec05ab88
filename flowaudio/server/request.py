"""The body of ``POST /v1/audio/speech`` as a pydantic model (its JSON schema is what /docs
shows), and the translation of pydantic's errors into OpenAI-style 400s that name the field, the
value received and the fix.

Fields: OpenAI's (``model``, ``input``, ``voice``, ``response_format``, ``speed``,
``instructions``, ``stream_format``) and flowaudio's extras (``stream`` and the other settings
of :class:`~flowaudio.runtime.contract.SynthesisConfig`: ``steps``, ``solver``, ``schedule``,
``temperature``, ``guidance_scale``, ``seed``, ``language_check``). The numeric bounds are the
runtime's (``SETTING_RANGES``); ``input``'s length limit is the server's
(:meth:`SpeechRequest.limited`).

Validation is strict (JSON types as they are: ``"2"`` is not a number, ``1.0`` not an
integer, ``"yes"`` not a boolean); a JSON null counts as "not given"; unknown fields are refused
(a typo must not be ignored silently).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from flowaudio.runtime.contract import (
    SCHEDULES,
    SETTING_RANGES,
    SOLVERS,
    SettingError,
    SynthesisConfig,
)
from flowaudio.server.formats import FORMATS, STREAM_FORMATS
from flowaudio.text.language import LanguageCheck

__all__ = [
    "ApiError",
    "ErrorBody",
    "ErrorDetail",
    "SpeechRequest",
    "parse_json",
    "parse_speech_request",
    "setting_refusal",
    "shown",
]

#: Seeds fit a signed 64-bit integer, what most clients' JSON libraries and databases hold
#: (numpy itself would take any non-negative integer).
MAX_SEED = 2**63
LANGUAGE_CHECKS = tuple(check.value for check in LanguageCheck)


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""

    error: ErrorDetail


class ApiError(Exception):
    """A request the server refuses; becomes an :class:`ErrorBody`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.kind = kind
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        detail = ErrorDetail(message=self.message, type=self.kind, param=self.param, code=self.code)
        return ErrorBody(error=detail).model_dump()


def _range(name: str) -> dict[str, float]:
    low, high = SETTING_RANGES[name]
    return {"ge": low, "le": high}


class SpeechRequest(BaseModel):
    """A speech request. ``None`` (or a field left out) takes the voice's default."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, title="SpeechRequest")

    model: str | None = Field(
        None,
        description="A loaded voice's name selects that voice; any other string (tts-1, "
        "flowaudio, ...) is accepted and ignored.",
        examples=["flowaudio"],
    )
    input: str = Field(
        min_length=1,
        description="The text to speak (plain text or SSML starting with <speak>).",
        examples=["Hello world."],
    )
    voice: str | None = Field(
        None,
        description="SPEAKER, VOICE/SPEAKER or VOICE (default: the first voice's first "
        "speaker). OpenAI's names (alloy, ...) are refused with this server's list; GET "
        "/v1/models lists them.",
        examples=["VOICE/SPEAKER"],
    )
    response_format: Literal[FORMATS] = Field(  # type: ignore[valid-type]
        "wav",
        description="Audio format (case-insensitive); pcm is raw 16-bit little-endian mono at "
        "the X-Sample-Rate header's rate.",
    )
    speed: float | None = Field(
        None, **_range("speed"), description="> 1 speaks faster (default 1).", examples=[1.0]
    )
    instructions: str | None = Field(
        None, description="Accepted for OpenAI clients and ignored (no style control)."
    )
    stream_format: Literal["audio"] | None = Field(
        None, description='"audio" only: OpenAI\'s server-sent events are not offered.'
    )
    stream: bool | None = Field(
        None,
        description=f"Send audio as it is synthesized (chunked); {' and '.join(STREAM_FORMATS)} "
        "only.",
        examples=[True],
    )
    steps: int | None = Field(
        None, **_range("steps"), description="ODE steps (more: slower, cleaner).", examples=[4]
    )
    solver: Literal[SOLVERS] | None = Field(  # type: ignore[valid-type]
        None, description="ODE solver (case-insensitive)."
    )
    schedule: Literal[SCHEDULES] | None = Field(  # type: ignore[valid-type]
        None, description="Time grid of the steps (case-insensitive)."
    )
    temperature: float | None = Field(
        None, **_range("temperature"), description="Scale of the initial noise.", examples=[0.667]
    )
    guidance_scale: float | None = Field(
        None,
        **_range("guidance_scale"),
        description="Classifier-free guidance (1: none; a distilled voice takes 1 only).",
        examples=[1.0],
    )
    seed: int | None = Field(
        None,
        ge=0,
        lt=MAX_SEED,
        description="The same seed gives the same audio; none draws a fresh one.",
        examples=[1234],
    )
    language_check: Literal[LANGUAGE_CHECKS] | None = Field(  # type: ignore[valid-type]
        None,
        description="Text that looks like another language than the voice's: warn (log it, "
        "read it anyway; the default), strict (refuse it: 400) or off.",
    )

    @field_validator("response_format", mode="before")
    @classmethod
    def _default_format(cls, value: Any) -> Any:
        if value is None:
            return "wav"
        return value.lower() if isinstance(value, str) else value

    @field_validator("solver", "schedule", "language_check", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("input")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise PydanticCustomError("empty", "input is empty: send the text to speak")
        return text

    @field_validator("stream")
    @classmethod
    def _streamable(cls, stream: bool | None, info: Any) -> bool | None:
        fmt = info.data.get("response_format")  # absent when it failed its own check
        if stream and fmt is not None and fmt not in STREAM_FORMATS:
            raise PydanticCustomError(
                "unsupported_value",
                "streaming is offered for {formats}, not {fmt}; ask for "
                '"response_format": "wav" or "pcm", or drop "stream"',
                {"formats": " and ".join(STREAM_FORMATS), "fmt": fmt},
            )
        return stream

    @classmethod
    def limited(cls, max_chars: int) -> type[SpeechRequest]:
        """This model with ``input`` limited to ``max_chars`` characters (in the schema too)."""
        return create_model(
            "SpeechRequest",
            __base__=cls,
            __doc__=cls.__doc__,
            input=(
                str,
                Field(
                    min_length=1,
                    max_length=max_chars,
                    description=f"The text to speak, at most {max_chars} characters (plain "
                    "text or SSML starting with <speak>).",
                    examples=["Hello world."],
                ),
            ),
        )

    def synthesis_config(self) -> SynthesisConfig:
        """The runtime's settings object for this request (a field not given keeps
        ``SynthesisConfig``'s default; None there: the voice's)."""
        given = {f.name: getattr(self, f.name, None) for f in dataclasses.fields(SynthesisConfig)}
        return SynthesisConfig(
            **{name: value for name, value in given.items() if value is not None}
        )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shown(value: object) -> str:
    """A short rendering of a received value for error messages."""
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_KINDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


def _expected(prop: dict[str, Any]) -> str:
    """What a JSON schema property accepts, in words ("an integer in [1, 128]")."""
    branch = next((b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"), prop)
    if "enum" in branch or "const" in branch:
        values = branch.get("enum", [branch.get("const")])
        return f'"{values[0]}"' if len(values) == 1 else f"one of {', '.join(values)}"
    words = _KINDS.get(branch.get("type", ""), "a valid value")
    low, high = branch.get("minimum"), branch.get("maximum")
    if low is not None and high is not None:
        words += f" in [{low:g}, {high:g}]"
    elif low is not None and "exclusiveMaximum" in branch:  # the seed: exact, not :g
        words += f" in [{low}, {branch['exclusiveMaximum']})"
    return words


def _refusal(exc: ValidationError, model: type[SpeechRequest]) -> ApiError:
    """The first problem pydantic found, as a 400 blaming the field of its ``loc``."""
    properties = model.model_json_schema()["properties"]
    errors = exc.errors(include_url=False)
    unknown = [str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden"]
    if unknown:  # first: a misspelt field also explains the other errors
        return ApiError(
            400,
            f"unknown field(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(properties)}",
            param=unknown[0],
            code="unknown_parameter",
        )
    error: ErrorDetails = errors[0]
    value = error["input"]
    if not error["loc"]:  # the body itself
        return ApiError(
            400,
            f"the request body must be a JSON object, got {_json_type(value)} {shown(value)}; "
            'send {"input": "Hello.", "voice": "SPEAKER"}',
            code="invalid_type",
        )
    field, kind = str(error["loc"][0]), error["type"]
    prop = properties.get(field, {})
    if kind == "missing":
        message, code = f"{field} is missing: send the text to speak as {field!r}", "missing"
    elif kind == "string_too_short":
        message, code = f"{field} is empty: send the text to speak", "empty"
    elif kind == "string_too_long":
        message = (
            f"{field} has {len(value)} characters, more than this server's limit of "
            f"{error['ctx']['max_length']}; split the text into several requests (or start the "
            "server with a larger --max-chars)"
        )
        code = "string_too_long"
    elif kind == "string_unicode":  # a lone surrogate (a \ud800 escape without its pair)
        message = f"{field} is not valid Unicode (it holds a lone surrogate); send UTF-8 text"
        code = "invalid_value"
    elif kind in ("empty", "unsupported_value"):  # raised by our validators: the message says it
        message, code = error["msg"], "empty" if kind == "empty" else "invalid_value"
    else:
        got = "null" if value is None else f"{_json_type(value)} {shown(value)}"
        message = f"{field} must be {_expected(prop)}, got {got}"
        if "examples" in prop:
            message += f'; for example "{field}": {json.dumps(prop["examples"][0])}'
        code = {"literal_error": "unsupported_value"}.get(
            kind, "invalid_type" if kind.endswith("_type") else "invalid_value"
        )
    return ApiError(400, message, param=field, code=code)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """The request body as JSON, or a 400 that says what is wrong with it."""
    if not raw.strip():
        raise ApiError(
            400,
            'the request body is empty; send a JSON object such as {"input": "Hello.", '
            '"voice": "SPEAKER"}',
            code="invalid_json",
        )
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError(400, "the request body nests JSON too deeply", code="invalid_json") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits, NaN
        raise ApiError(
            400,
            f"the request body is not valid JSON ({exc}); send a UTF-8 JSON object with "
            "Content-Type: application/json",
            code="invalid_json",
        ) from None


def parse_speech_request(raw: bytes, model: type[SpeechRequest]) -> SpeechRequest:
    """A request body checked by ``model`` (a :meth:`SpeechRequest.limited` class); an
    :class:`ApiError` (400) naming the first problem otherwise."""
    body = parse_json(raw)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise _refusal(exc, model) from None


def setting_refusal(exc: SettingError) -> ApiError:
    """A setting the runtime refused (``SynthesisConfig`` or the voice), blaming its field."""
    return ApiError(400, str(exc), param=exc.field, code="invalid_value")
