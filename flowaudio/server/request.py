"""The body of ``POST /v1/audio/speech``: parsed and checked by hand, so every refusal names the
field, the value received and the fix (OpenAI-style error bodies, never a 500).

Accepted fields (OpenAI's, then flowaudio's extras)::

    model            str, optional: a loaded voice's name selects that voice; any other
                     string (tts-1, flowaudio, ...) is accepted and ignored
    input            str, required: the text, 1 to max_chars characters
    voice            str, optional: SPEAKER, VOICE/SPEAKER or VOICE (default: the first voice's
                     first speaker); OpenAI's names (alloy, ...) are refused with the list
    response_format  str, optional: wav (default), pcm, flac, mp3, opus
    speed            number in [0.25, 4], optional (default 1)
    instructions     str, optional: accepted for client compatibility and ignored
    stream_format    "audio" only (OpenAI's server-sent-events format is not offered)
    stream           bool, optional: chunked audio as it is synthesized (wav and pcm)
    steps            int in [1, MAX_STEPS]; solver: euler | midpoint | heun | rk4;
    temperature      number in [0, 2]; seed: int in [0, 2**63)

A JSON null counts as "not given". Unknown fields are refused (a typo must not be ignored).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from flowaudio.runtime.contract import MAX_STEPS, SETTING_RANGES, SOLVERS, SynthesisConfig

__all__ = ["ApiError", "SpeechRequest", "parse_json", "parse_speech_request", "shown"]

FIELDS = (
    "model",
    "input",
    "voice",
    "response_format",
    "speed",
    "instructions",
    "stream_format",
    "stream",
    "steps",
    "solver",
    "temperature",
    "seed",
)
MAX_SEED = 2**63


class ApiError(Exception):
    """A request the server refuses; becomes ``{"error": {message, type, param, code}}``."""

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
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }


@dataclass(frozen=True)
class SpeechRequest:
    """A checked speech request (None: the voice's default)."""

    input: str
    model: str | None = None
    voice: str | None = None
    response_format: str = "wav"
    stream: bool = False
    config: SynthesisConfig = field(default_factory=SynthesisConfig)
    """steps, solver, temperature, speed and seed as the one settings object of the runtime."""

    @property
    def speed(self) -> float:
        return self.config.speed


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


def _bad(field: str, message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, param=field, code=code)


def _wrong_type(field: str, value: object, wanted: str, example: str) -> ApiError:
    return _bad(
        field,
        f"{field} must be {wanted}, got {_json_type(value)} {shown(value)}; "
        f'for example "{field}": {example}',
        code="invalid_type",
    )


def _string(body: dict, field: str, example: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _wrong_type(field, value, "a string", example)
    return value


def _number(body: dict, field: str, lo: float, hi: float, example: str) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _wrong_type(field, value, "a number", example)
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    if not (math.isfinite(number) and lo <= number <= hi):
        raise _bad(field, f"{field} must be in [{lo:g}, {hi:g}], got {shown(value)}")
    return number


def _integer(body: dict, field: str, lo: int, hi: int, example: str) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(field, value, "an integer", example)
    if not lo <= value <= hi:
        raise _bad(field, f"{field} must be an integer in [{lo}, {hi}], got {shown(value)}")
    return value


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


def parse_speech_request(
    raw: bytes, max_chars: int, formats: tuple[str, ...], stream_formats: tuple[str, ...]
) -> SpeechRequest:
    """Check a request body; raise :class:`ApiError` (400) naming the first problem found."""
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ApiError(
            400,
            f"the request body must be a JSON object, got {_json_type(body)} {shown(body)}; "
            'send {"input": "Hello.", "voice": "SPEAKER"}',
            code="invalid_type",
        )
    unknown = sorted(k for k in body if k not in FIELDS)
    if unknown:
        raise _bad(
            unknown[0],
            f"unknown field(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(FIELDS)}",
            code="unknown_parameter",
        )

    text = _string(body, "input", '"Hello world."')
    if text is None:
        raise _bad("input", 'input is missing: send the text to speak as "input"', "missing")
    if not text.strip():
        raise _bad("input", "input is empty: send the text to speak", "empty")
    if len(text) > max_chars:
        raise _bad(
            "input",
            f"input has {len(text)} characters, more than this server's limit of {max_chars}; "
            "split the text into several requests (or start the server with a larger "
            "--max-chars)",
            "string_too_long",
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _bad(
            "input",
            f"input is not valid Unicode (a lone surrogate at character {exc.start}); send "
            "UTF-8 text",
        ) from None

    fmt = (_string(body, "response_format", '"wav"') or "wav").lower()
    if fmt not in formats:
        raise _bad(
            "response_format",
            f"response_format {shown(fmt)} is not supported; choose one of {', '.join(formats)}",
            "unsupported_value",
        )
    stream_format = _string(body, "stream_format", '"audio"')
    if stream_format not in (None, "audio"):
        raise _bad(
            "stream_format",
            f'stream_format {shown(stream_format)} is not supported; use "audio" (or set '
            '"stream": true for chunked audio)',
            "unsupported_value",
        )
    _string(body, "instructions", '"Speak calmly."')  # accepted, ignored: no style control
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _wrong_type("stream", stream, "true or false", "true")
    if stream and fmt not in stream_formats:
        raise _bad(
            "stream",
            f"streaming is offered for {' and '.join(stream_formats)}, not {fmt}; ask for "
            f'"response_format": "wav" or "pcm", or drop "stream"',
            "unsupported_value",
        )
    solver = _string(body, "solver", '"euler"')
    if solver is not None and solver.lower() not in SOLVERS:
        raise _bad("solver", f"unknown solver {shown(solver)}; choose one of {', '.join(SOLVERS)}")
    low, high = SETTING_RANGES["speed"]
    speed = _number(body, "speed", low, high, "1.0")
    low, high = SETTING_RANGES["temperature"]
    config = SynthesisConfig(
        steps=_integer(body, "steps", 1, MAX_STEPS, "4"),
        solver=solver,  # type: ignore[arg-type]  # parsed by SynthesisConfig
        temperature=_number(body, "temperature", low, high, "0.667"),
        speed=1.0 if speed is None else speed,
        seed=_integer(body, "seed", 0, MAX_SEED - 1, "1234"),
    )
    return SpeechRequest(
        input=text,
        model=_string(body, "model", '"flowaudio"'),
        voice=_string(body, "voice", '"SPEAKER" or "VOICE/SPEAKER"'),
        response_format=fmt,
        stream=bool(stream),
        config=config,
    )
