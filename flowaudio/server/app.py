"""The HTTP app: an OpenAI-compatible speech endpoint over loaded voices (FastAPI).

Routes::

    GET  /                  a web page to try the voices (page.html: one file, no external assets)
    POST /v1/audio/speech   text -> audio (the body: flowaudio.server.request.SpeechRequest)
    GET  /v1/models         the loaded voices, their speakers and defaults (OpenAI list format)
    GET  /health            {"status": "ok", ...}
    GET  /metrics           Prometheus text format (flowaudio.server.metrics)
    GET  /docs              the OpenAPI description (/openapi.json) as Swagger UI

Every refusal is a 4xx with ``{"error": {"message, type, param, code}}`` naming the value and the
fix; 503 with Retry-After when the queue is full; 500 only for a server bug (logged).

With an API key (``create_app(api_key=...)``, ``flowaudio serve --api-key`` or
``FLOWAUDIO_API_KEY``), the API routes (speech, models, metrics) need ``Authorization: Bearer
KEY``, as OpenAI clients send it; otherwise 401. Open without it: /health (for load balancers),
the web page (static HTML that asks for the key) and /docs with /openapi.json (a browser cannot
send the header when it opens a page; the description holds no voice, and Swagger UI's
"Authorize" then sends the key with each try).

Bounded work per request:

* audio: before any flow step, the encoder's durations give the length of the answer
  (``Voice.estimate_seconds``, a few percent of the synthesis's time); past
  ``max_audio_seconds`` the request is a 400 that says so;
* time: a request still running ``request_timeout_s`` after it was admitted is stopped (504);
  a stream is cut at that age;
* a client that hangs up stops its work: a whole-text synthesis between two passes through the
  graphs (``cancel``), a stream before its next chunk; a hang-up while sending the body is a
  499 (nginx's "client closed request"), logged at info, never a server error;
* slow clients: the body must arrive within ``body_timeout_s`` (408); the request head within
  the ``header_timeout`` of :func:`flowaudio.server.protocol.timed_h11` (``flowaudio serve``
  installs it in uvicorn; the connection is closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowaudio.runtime.contract import SETTING_RANGES, SettingError
from flowaudio.runtime.synthesizer import Audio, Voice
from flowaudio.server.engine import AudioStream, Engine, QueueFullError, Settings, Ticket
from flowaudio.server.formats import (
    FORMATS,
    MEDIA_TYPES,
    encode,
    pcm16,
    streaming_wav_header,
)
from flowaudio.server.metrics import Metrics
from flowaudio.server.request import (
    ApiError,
    ErrorBody,
    SpeechRequest,
    parse_speech_request,
    setting_refusal,
    shown,
)
from flowaudio.text.language import LanguageMismatchError
from flowaudio.version import __version__

__all__ = ["VoiceSet", "create_app"]

logger = logging.getLogger(__name__)

#: Default cap on the request body; a 5,000-character input is ~20 KB even as \\uXXXX escapes.
MAX_BODY_BYTES = 64 * 1024
SPEECH = "/v1/audio/speech"
#: Paths counted under their own name in the metrics (any other is "other").
ROUTES = ("/", SPEECH, "/v1/models", "/health", "/metrics", "/docs", "/openapi.json")
RETRY_AFTER_S = 1
#: Defaults of the per-request bounds (create_app's arguments).
MAX_AUDIO_SECONDS = 600.0
REQUEST_TIMEOUT_S = 300.0
BODY_TIMEOUT_S = 10.0
#: Status of a request whose client left before its answer (nginx's convention).
CLIENT_CLOSED = 499
#: Voice defaults a request can override (GET /v1/models shows them).
SPEECH_SETTINGS = ("steps", "solver", "schedule", "temperature", "guidance_scale")
#: Reads "Authorization: Bearer KEY" (and puts the "Authorize" button in /docs).
_BEARER = HTTPBearer(auto_error=False, description="The server's API key (--api-key).")


class VoiceSet:
    """Loaded voices by name, and the rules that turn a request's ``voice``/``model`` into a
    (voice, speaker) pair.

    ``voice`` is tried as ``VOICE/SPEAKER``, then as a speaker of the voice named by ``model``,
    then as a speaker of any voice (in load order), then as a voice name (its first speaker).
    Nothing matching is a 400 that lists every ``VOICE/SPEAKER`` (OpenAI's names, ``alloy``
    and the rest, are not mapped to anything: a client asking for a voice gets that voice or an
    error, never a silent substitute).
    """

    def __init__(self, voices: Mapping[str, Voice]):
        if not voices:
            raise ValueError("the server needs at least one voice (pass voice directories)")
        self.voices = dict(voices)
        self.names = list(self.voices)

    def choices(self) -> list[str]:
        if len(self.voices) == 1:
            return list(self.voices[self.names[0]].speakers) or self.names
        return [
            f"{name}/{speaker}" if voice.speakers else name
            for name, voice in self.voices.items()
            for speaker in (voice.speakers or ("",))
        ]

    def resolve(self, voice: str | None, model: str | None) -> tuple[str, Voice, str | None]:
        """-> (voice name, voice, speaker or None for the voice's first); ApiError if unknown."""
        preferred = model if model in self.voices else None
        if voice is None:
            name = preferred or self.names[0]
            return name, self.voices[name], None
        head, sep, tail = voice.partition("/")
        if sep and head in self.voices and tail in self.voices[head].speakers:
            return head, self.voices[head], tail
        if preferred is not None and voice in self.voices[preferred].speakers:
            return preferred, self.voices[preferred], voice
        for name in self.names:
            if voice in self.voices[name].speakers:
                return name, self.voices[name], voice
        if voice in self.voices:
            return voice, self.voices[voice], None
        raise ApiError(
            400,
            f"unknown voice {shown(voice)}; this server has: {', '.join(self.choices())}. Pass one "
            'of them as "voice" (OpenAI voice names such as "alloy" are not available); '
            "GET /v1/models lists them",
            param="voice",
            code="unknown_voice",
        )


def _error_response(err: ApiError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status, headers=err.headers)


class _Observe:
    """ASGI middleware: count every request by path and status, time the speech requests."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        path = scope["path"] if scope["path"] in ROUTES else "other"
        try:
            await self.app(scope, receive, observe)
        finally:
            elapsed = time.perf_counter() - start
            self.metrics.observe_request(path, status, elapsed, speech=path == SPEECH)


class _AudioStreamResponse(StreamingResponse):
    """A StreamingResponse that always runs ``on_close`` (even when never iterated)."""

    def __init__(self, content: AsyncIterator[bytes], on_close: Callable[[], None], **kw: Any):
        super().__init__(content, **kw)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
            self._on_close()


async def _read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The body, at most ``limit`` bytes, within ``timeout`` seconds (408 after it)."""
    try:
        return await asyncio.wait_for(_read_limited(request, limit), timeout)
    except asyncio.TimeoutError:
        raise ApiError(
            408,
            f"the request body did not arrive within {timeout:g} s; send it at once",
            code="body_timeout",
            headers={"Connection": "close"},
        ) from None


async def _read_limited(request: Request, limit: int) -> bytes:
    too_large = ApiError(
        413,
        f"the request body is larger than {limit} bytes; send at most max_chars characters of "
        "input in a JSON object",
        code="body_too_large",
    )
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def _until_disconnected(receive: Receive) -> None:
    """Return when the client hangs up (the body has been read: nothing else can arrive)."""
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    except Exception:  # a broken connection: the same as a hang-up
        logger.debug("receive failed while waiting for a disconnect", exc_info=True)


def create_app(
    voices: Mapping[str, Voice] | Sequence[str | Path],
    *,
    max_chars: int = 5000,
    max_queue: int = 32,
    workers: int = 1,
    threads: int | None = None,
    batch_window_ms: float = 0.0,
    max_batch: int = 8,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_audio_seconds: float = MAX_AUDIO_SECONDS,
    request_timeout_s: float = REQUEST_TIMEOUT_S,
    body_timeout_s: float = BODY_TIMEOUT_S,
    api_key: str | None = None,
) -> FastAPI:
    """The server as an ASGI app (run it with uvicorn; tests call this directly).

    Args:
        voices: ``{name: Voice}``, or voice directories (each named by its voice.json ``name``,
            else its folder name). The first voice is the default.
        max_chars: longest ``input`` accepted (longer: 400 naming the limit).
        max_queue: speech requests that may wait for a worker; one more gets 503 + Retry-After.
        workers: syntheses that run at once (threads; each uses onnxruntime's own threads).
        threads: onnxruntime intra-op threads per graph, for voices loaded from directories.
        batch_window_ms: collect unseeded requests with equal settings for this long and
            synthesize them in one batch (0: off, the default; it was not faster on CPU).
        max_batch: most requests in one batch.
        max_body_bytes: largest request body (larger: 413).
        max_audio_seconds: longest answer, estimated from the text before synthesis (longer:
            400 naming the limit); 10 minutes by default.
        request_timeout_s: a request still running this long after admission is stopped (504;
            a stream is cut).
        body_timeout_s: the whole body must arrive within this (slower: 408).
        api_key: when given, the API routes need ``Authorization: Bearer <api_key>`` (401
            otherwise); None: no key (the environment is not read here: ``flowaudio serve``
            takes FLOWAUDIO_API_KEY).
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}")
    for name, value in (
        ("max_audio_seconds", max_audio_seconds),
        ("request_timeout_s", request_timeout_s),
        ("body_timeout_s", body_timeout_s),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    _check_api_key(api_key)
    voice_set = VoiceSet(_load_voices(voices, threads))
    metrics = Metrics()
    engine = Engine(workers, max_queue, batch_window_ms / 1000.0, max_batch, metrics)
    metrics.watch_queue(lambda: engine.depth, engine.capacity)
    request_model = SpeechRequest.limited(max_chars)
    page = _page(
        {
            "max_chars": max_chars,
            "formats": list(FORMATS),
            "steps": SETTING_RANGES["steps"],
            "speed": SETTING_RANGES["speed"],
            "api_key_required": api_key is not None,
        }
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        names = ", ".join(f"{n} ({', '.join(v.speakers)})" for n, v in voice_set.voices.items())
        logger.info("serving %s; %d worker(s), queue %d", names, workers, max_queue)
        yield
        engine.close()

    app = FastAPI(
        title="flowaudio",
        version=__version__,
        description="Flow-matching text-to-speech with an OpenAI-compatible speech endpoint. "
        "A page to try it is at /.",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.metrics = metrics
    app.state.voices = voice_set
    app.add_middleware(_Observe, metrics=metrics)
    # The API routes; with a key, each checks it before anything else (before the body is read).
    api = APIRouter(dependencies=[] if api_key is None else [Depends(_key_check(api_key))])

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = (
                f"no route {request.method} {request.url.path}; this server offers "
                "POST /v1/audio/speech, GET /v1/models, GET /health, GET /metrics, GET / (a web "
                "page) and GET /docs"
            )
        elif exc.status_code == 405:
            message = (
                f"{request.method} is not allowed on {request.url.path}; "
                f"use {_allowed(exc.headers)}"
            )
        else:
            message = str(exc.detail)
        err = ApiError(exc.status_code, message, code=f"http_{exc.status_code}")
        err.headers = dict(exc.headers or {})
        return _error_response(err)

    @app.exception_handler(Exception)
    async def server_bug(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error in %s %s", request.method, request.url.path)
        return _error_response(
            ApiError(
                500,
                f"internal server error ({type(exc).__name__}); this is a flowaudio bug: "
                "please report it with the request that caused it",
                kind="server_error",
            )
        )

    @app.get("/", include_in_schema=False)
    async def web_page() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache", "X-Frame-Options": "DENY"})

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness and the queue; open without an API key."""
        return {
            "status": "ok",
            "version": __version__,
            "voices": voice_set.choices(),
            "queue_depth": engine.depth,
            "queue_capacity": engine.capacity,
            "api_key_required": api_key is not None,
        }

    @api.get("/v1/models")
    async def models() -> dict[str, Any]:
        """The loaded voices (OpenAI's list of models) with their speakers and defaults."""
        return {
            "object": "list",
            "data": [
                {
                    "id": name,
                    "object": "model",
                    "created": 0,
                    "owned_by": "flowaudio",
                    "speakers": list(voice.speakers),
                    "voices": [f"{name}/{s}" for s in voice.speakers],
                    "sample_rate": voice.sample_rate,
                    "defaults": _defaults(voice),
                }
                for name, voice in voice_set.voices.items()
            ],
        }

    @api.get("/metrics", response_class=Response)
    async def prometheus(request: Request) -> Response:
        """Prometheus metrics (OpenMetrics when the Accept header asks for it)."""
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, headers={"Content-Type": content_type})

    @api.post(
        SPEECH,
        response_class=Response,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request_model.model_json_schema()}},
            }
        },
        responses={
            200: {
                "description": "The audio; X-Audio-Seconds, X-Processing-Seconds and X-RTF "
                "(processing time / audio time) headers on whole answers.",
                "content": {MEDIA_TYPES[f]: {} for f in FORMATS},
            },
            400: {"model": ErrorBody, "description": "A bad request (param names the field)."},
            401: {"model": ErrorBody, "description": "The API key is missing or wrong."},
            503: {"model": ErrorBody, "description": "The queue is full; retry after a while."},
        },
    )
    async def speech(request: Request) -> Response:
        """Text to speech, as OpenAI's ``POST /v1/audio/speech`` (plus flowaudio's settings)."""
        try:
            body = await _read_body(request, max_body_bytes, body_timeout_s)
        except ClientDisconnect:  # the client's mistake or choice, not ours: no traceback
            logger.info("client left while sending its request body")
            return Response(status_code=CLIENT_CLOSED)
        req = parse_speech_request(body, request_model)
        try:
            config = req.synthesis_config()
        except SettingError as exc:
            raise setting_refusal(exc) from None
        received = time.perf_counter()
        name, voice, speaker = voice_set.resolve(req.voice, req.model)
        settings = Settings(speaker=speaker, config=config)
        headers = {
            "X-Sample-Rate": str(voice.sample_rate),
            "X-Voice": _ascii(f"{name}/{speaker or (voice.speakers or ('',))[0]}".rstrip("/")),
        }
        if req.response_format == "pcm":
            headers["X-Sample-Format"] = "s16le"
            headers["X-Channels"] = "1"
        try:
            ticket = engine.admit()
        except QueueFullError as exc:
            raise ApiError(
                503,
                f"the server is busy ({exc}); retry after {RETRY_AFTER_S} s",
                kind="server_busy",
                code="queue_full",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            ) from None
        deadline = time.monotonic() + request_timeout_s
        cancel = threading.Event()  # set when the client leaves or the time is up

        async def check_length() -> bool:
            try:
                seconds = await engine.run(
                    partial(voice.estimate_seconds, req.input, speaker=speaker, speed=config.speed)
                )
            except ValueError as exc:  # the estimate reads the text as synthesis does
                raise _synthesis_error(exc, param="input") from None
            if seconds > max_audio_seconds:
                raise ApiError(
                    400,
                    f"the input would give {seconds / 60:.1f} minutes of audio; this server "
                    f"makes at most {max_audio_seconds / 60:g} minutes per request "
                    "(max_audio_seconds): split the text into several requests",
                    param="input",
                    code="audio_too_long",
                )
            return True

        async def whole() -> Audio:
            await check_length()
            return await engine.synthesize(voice, req.input, settings, cancel)

        if req.stream:
            try:
                checked = await _unless_disconnected(request, check_length(), cancel, deadline)
            except ValueError as exc:
                ticket.release()
                raise _synthesis_error(exc) from None
            except BaseException:
                ticket.release()
                raise
            if checked is None:
                ticket.release()
                return Response(status_code=CLIENT_CLOSED)
            return await _stream(voice, req, settings, ticket, headers, deadline)
        try:
            audio = await _unless_disconnected(request, whole(), cancel, deadline)
            if audio is None:
                return Response(status_code=CLIENT_CLOSED)  # nobody to send it to
            payload = await asyncio.to_thread(
                encode, audio.samples, audio.sample_rate, req.response_format
            )
        except ValueError as exc:
            raise _synthesis_error(exc) from None
        finally:
            ticket.release()
        processing = time.perf_counter() - received
        metrics.add_audio(audio.duration)
        headers["X-Audio-Seconds"] = f"{audio.duration:.3f}"
        # Everything after the body arrived (queue wait and encoding included) per second of
        # audio: below 1 is faster than real time.
        headers["X-Processing-Seconds"] = f"{processing:.3f}"
        headers["X-RTF"] = f"{processing / max(audio.duration, 1e-9):.4f}"
        return Response(payload, media_type=MEDIA_TYPES[req.response_format], headers=headers)

    async def _stream(
        voice: Voice,
        req: SpeechRequest,
        settings: Settings,
        ticket: Ticket,
        headers: dict,
        deadline: float,
    ) -> Response:
        stream = engine.stream(voice, req.input, settings)
        try:
            first = await stream.next()  # bad text or settings fail here, before any byte
        except ValueError as exc:
            stream.close()
            ticket.release()
            raise _synthesis_error(exc) from None
        except BaseException:
            stream.close()
            ticket.release()
            raise
        head = streaming_wav_header(voice.sample_rate) if req.response_format == "wav" else b""
        body = _chunks(stream, first, head, deadline)

        def on_close() -> None:
            stream.close()
            ticket.release()

        return _AudioStreamResponse(
            body,
            on_close,
            media_type=MEDIA_TYPES[req.response_format],
            headers=headers,
        )

    async def _chunks(
        stream: AudioStream, first: Audio | None, head: bytes, deadline: float
    ) -> AsyncIterator[bytes]:
        finished = False
        try:
            chunk = first
            data = head
            while chunk is not None:
                metrics.add_audio(chunk.duration)
                yield data + pcm16(chunk.samples)
                data = b""
                if time.monotonic() > deadline:
                    logger.warning(
                        "stream cut after request_timeout_s = %g s (the answer is incomplete)",
                        request_timeout_s,
                    )
                    return
                chunk = await stream.next()
            finished = True
        except Exception:
            logger.exception("stream failed after its first bytes; closing the connection")
            raise
        finally:
            stream.close()
            if not finished:
                metrics.stream_cancelled()

    app.include_router(api)  # after its routes: include_router copies them
    return app


async def _unless_disconnected(
    request: Request, work: Any, cancel: threading.Event, deadline: float
) -> Any:
    """Await ``work`` (a coroutine); when the client hangs up (-> None) or ``deadline`` (a
    ``time.monotonic`` value) passes (-> 504), cancel it and set ``cancel``, which stops the
    synthesis thread between two passes."""
    job = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_until_disconnected(request.receive))
    try:
        await asyncio.wait(
            {job, watch},
            timeout=max(0.0, deadline - time.monotonic()),
            return_when=asyncio.FIRST_COMPLETED,
        )
    except BaseException:  # the server is stopping: stop the work too
        cancel.set()
        job.cancel()
        raise
    finally:
        left = watch.done()  # before the cancel below marks it done
        watch.cancel()
    if job.done():
        return job.result()
    cancel.set()
    job.cancel()
    if not left:
        raise ApiError(
            504,
            "the request took longer than this server's request_timeout_s; send a shorter "
            "input or retry later",
            kind="server_busy",
            code="request_timeout",
        )
    logger.info("client left before its audio was ready; the request is stopped")
    return None


def _allowed(headers: Mapping[str, str] | None) -> str:
    allow = {k.lower(): v for k, v in (headers or {}).items()}.get("allow")
    return allow or "another method"


def _ascii(text: str) -> str:
    """Header values must be latin-1; voice and speaker names may not be."""
    return text.encode("ascii", "backslashreplace").decode("ascii")


def _synthesis_error(exc: ValueError, param: str | None = None) -> ApiError:
    """A refusal of the runtime as a 400: a :class:`SettingError` blames its setting, any other
    ``param`` (the field the failing step reads), if given."""
    if isinstance(exc, SettingError):
        return setting_refusal(exc)
    if isinstance(exc, LanguageMismatchError):  # language_check "strict"
        return ApiError(400, str(exc), param="input", code="language_mismatch")
    return ApiError(400, str(exc), param=param, code="invalid_value")


def _check_api_key(api_key: str | None) -> None:
    if api_key is None:
        return
    # The key itself is never put in a message: messages end up in logs.
    if not isinstance(api_key, str) or not api_key:
        got = "an empty string" if api_key == "" else type(api_key).__name__
        raise ValueError(f"api_key must be a non-empty string, or None for no key; got {got}")
    if not (api_key.isascii() and api_key.isprintable()) or " " in api_key:
        raise ValueError(
            "api_key must be printable ASCII without spaces (it travels in an HTTP header as "
            "'Authorization: Bearer KEY'); make one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )


def _key_check(api_key: str) -> Callable[..., Any]:
    """A FastAPI dependency that refuses a request without ``Authorization: Bearer api_key``
    (401); the comparison takes the same time wherever the keys differ."""
    expected = api_key.encode("ascii")

    async def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> None:
        if credentials is None:
            message = (
                "this server needs an API key: send the header 'Authorization: Bearer KEY' (the "
                "key it was started with: --api-key or FLOWAUDIO_API_KEY)"
            )
            code = "missing_api_key"
        elif hmac.compare_digest(credentials.credentials.encode("utf-8"), expected):
            return
        else:
            message = (
                "the API key is not this server's; send the key it was started with "
                "(--api-key or FLOWAUDIO_API_KEY) as 'Authorization: Bearer KEY'"
            )
            code = "invalid_api_key"
        raise ApiError(401, message, code=code, headers={"WWW-Authenticate": "Bearer"})

    return check


def _defaults(voice: Voice) -> dict[str, Any]:
    """The settings a voice uses where a request gives none (for clients and the web page)."""
    meta = getattr(voice, "meta", None)
    defaults = getattr(meta, "defaults", None)
    if defaults is None:
        return {}
    return {
        name: getattr(value, "value", value)  # enums as their values
        for name, value in dataclasses.asdict(defaults).items()
        if name in SPEECH_SETTINGS
    }


def _page(config: Mapping[str, Any]) -> str:
    """The web page with this server's limits in it (a JSON script element; ``<`` escaped so no
    value can end the element)."""
    html = resources.files("flowaudio.server").joinpath("page.html").read_text(encoding="utf-8")
    data = json.dumps(dict(config)).replace("<", "\\u003c")
    return html.replace("__FLOWAUDIO_CONFIG__", data)


def _load_voices(
    voices: Mapping[str, Voice] | Sequence[str | Path], threads: int | None
) -> dict[str, Voice]:
    if isinstance(voices, Mapping):
        loaded = dict(voices)
    else:
        if isinstance(voices, (str, Path)):
            voices = [voices]
        loaded = {}
        for path in voices:
            voice = Voice.load(path, threads=threads)
            name = voice.meta.name or Path(path).name
            if name in loaded:
                raise ValueError(
                    f"two voices are named {name!r} ({path} and {loaded[name].path}); give "
                    "one another name (flowaudio export --name) or pass {name: Voice} to "
                    "create_app"
                )
            loaded[name] = voice
    for name, voice in loaded.items():
        if "/" in name:
            raise ValueError(f"voice name {name!r} contains '/', which separates VOICE/SPEAKER")
        meta = getattr(voice, "meta", None)
        if meta is not None and meta.speaker_mode == "embedding":
            raise ValueError(
                f"voice {name!r} is conditioned on speaker embeddings, which the HTTP API has no "
                "field for; serve a voice with named speakers"
            )
    return loaded
