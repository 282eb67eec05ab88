"""Helpers for the HTTP tests: a real uvicorn server on 127.0.0.1 (a free port) in a background
thread, the error-body check, and a voice wrapper that counts, slows or holds its calls."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from flowaudio.runtime.synthesizer import Voice

TIMEOUT = 30.0


class RunningServer:
    """A uvicorn server on its own thread; ``url`` and ``client`` talk to it over TCP."""

    def __init__(self, app, **uvicorn_options):
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
            **uvicorn_options,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.client = httpx.Client(base_url=self.url, timeout=TIMEOUT)

    def start(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

    def speech(self, **body) -> httpx.Response:
        # ensure_ascii: \uXXXX escapes carry any string, lone surrogates included.
        return self.client.post(
            "/v1/audio/speech",
            content=json.dumps(body, ensure_ascii=True),
            headers={"content-type": "application/json"},
        )

    def metric(self, name: str) -> float:
        """The value of an unlabelled metric line in GET /metrics."""
        for line in self.client.get("/metrics").text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise KeyError(name)


@contextmanager
def serve(app) -> Iterator[RunningServer]:
    server = RunningServer(app).start()
    try:
        yield server
    finally:
        server.stop()


def assert_error(response: httpx.Response, status: int | tuple[int, ...], param=None) -> dict:
    """An OpenAI-style error body with the given status (and param, if given)."""
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param"}
    assert isinstance(error["message"], str) and error["message"]
    if param is not None:
        assert error["param"] == param, error
    return error


class InstrumentedVoice:
    """A real voice whose calls are counted, and optionally slowed or held at a gate."""

    def __init__(self, voice: Voice, delay: float = 0.0, gate: threading.Event | None = None):
        self.voice = voice
        self.meta = voice.meta
        self.speakers = voice.speakers
        self.sample_rate = voice.sample_rate
        self.delay = delay
        self.gate = gate
        self.lock = threading.Lock()
        self.calls: list[tuple[str, int]] = []
        self.chunks = 0
        self.streams_closed = 0
        self.streams_finished = 0

    def _wait(self) -> None:
        if self.gate is not None:
            assert self.gate.wait(TIMEOUT)
        time.sleep(self.delay)

    def synthesize(self, text, **kwargs):
        self._wait()
        with self.lock:
            self.calls.append(("synthesize", 1))
        return self.voice.synthesize(text, **kwargs)

    def estimate_seconds(self, text, **kwargs):
        return self.voice.estimate_seconds(text, **kwargs)

    def synthesize_batch(self, texts, **kwargs):
        self._wait()
        with self.lock:
            self.calls.append(("batch", len(texts)))
        return self.voice.synthesize_batch(texts, **kwargs)

    def stream(self, text, **kwargs):
        def chunks():
            try:
                for chunk in self.voice.stream(text, **kwargs):
                    self._wait()
                    with self.lock:
                        self.chunks += 1
                    yield chunk
                self.streams_finished += 1
            finally:
                self.streams_closed += 1

        return chunks()
