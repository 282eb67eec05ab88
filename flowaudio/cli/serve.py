"""``flowaudio serve``: the HTTP server (needs the serve extra: fastapi, uvicorn)."""

from __future__ import annotations

import argparse
import os

from flowaudio.cli.common import (
    add_command,
    default_voice_or_error,
    logger,
    missing_extra,
    voice_dir,
)

#: Where ``serve`` finds the API key when --api-key is not given.
API_KEY_ENV = "FLOWAUDIO_API_KEY"


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "serve",
        "Serve voices over HTTP with an OpenAI-compatible POST /v1/audio/speech, plus "
        "GET /v1/models, /health and /metrics (Prometheus). Binds 127.0.0.1 unless told.",
        """
        flowaudio serve --voice voices/mine --port 8000
        curl -s localhost:8000/v1/audio/speech -H 'Content-Type: application/json' \\
            -d '{"input": "Hello world.", "voice": "slt"}' -o hello.wav
        FLOWAUDIO_API_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(32))') \\
            flowaudio serve --voice default --voice voices/mine --host 0.0.0.0
        """,
        serve,
    )
    p.add_argument(
        "--voice",
        action="append",
        default=None,
        help="voice directory or 'default'; repeat for several (default: the embedded voice)",
    )
    p.add_argument(
        "--api-key",
        default=None,
        help="key the API routes require as 'Authorization: Bearer KEY' (default: the "
        "FLOWAUDIO_API_KEY environment variable, which other users cannot read in the process "
        "list; neither: no key)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0: all)")
    p.add_argument("--port", type=int, default=8000, help="TCP port")
    p.add_argument("--max-chars", type=int, default=5000, help="longest input accepted")
    p.add_argument("--max-queue", type=int, default=32, help="requests that may wait; more get 503")
    p.add_argument("--workers", type=int, default=1, help="syntheses that run at once")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads per graph")
    p.add_argument(
        "--batch-window-ms",
        type=float,
        default=0.0,
        help="batch unseeded requests arriving within this window (0: off)",
    )
    p.add_argument(
        "--max-audio-seconds",
        type=float,
        default=600.0,
        help="longest answer, estimated before synthesis (longer: 400); default 10 minutes",
    )
    p.add_argument(
        "--request-timeout",
        type=float,
        default=300.0,
        help="seconds a request may run before it is stopped (504)",
    )
    p.add_argument(
        "--client-timeout",
        type=float,
        default=10.0,
        help="seconds a client has to send its request head, and again its body",
    )


def serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from flowaudio.server.app import create_app
    except ModuleNotFoundError as exc:
        raise missing_extra("serve", "serve", exc) from exc
    voices = [voice_dir(v) for v in args.voice] if args.voice else [default_voice_or_error()]
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV) or None
    app = create_app(
        voices,
        max_chars=args.max_chars,
        max_queue=args.max_queue,
        workers=args.workers,
        threads=args.threads,
        batch_window_ms=args.batch_window_ms,
        max_audio_seconds=args.max_audio_seconds,
        request_timeout_s=args.request_timeout,
        body_timeout_s=args.client_timeout,
        api_key=api_key,
    )
    if args.host not in ("127.0.0.1", "localhost", "::1") and api_key is None:
        logger.warning(
            "listening on %s: other machines can reach this server, and it has no API key "
            "(--api-key or %s)",
            args.host,
            API_KEY_ENV,
        )
    from flowaudio.server.protocol import timed_h11

    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        timeout_graceful_shutdown=5,
        http=timed_h11(args.client_timeout),  # a deadline for each request head
        timeout_keep_alive=5,
    )
    return 0
