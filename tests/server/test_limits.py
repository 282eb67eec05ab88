"""Bounded work per request: the audio a request may ask for, its time, a client that leaves, and
slow clients (all on 127.0.0.1, a handful of connections, a few seconds each)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from server_helpers import RunningServer, assert_error

from flowaudio.runtime.synthesizer import Voice
from flowaudio.server import create_app
from flowaudio.server.protocol import timed_h11

#: Seconds each velocity evaluation is slowed by, so that the long text below takes long
#: whatever the machine: 4 steps a pass, a pass of 2 sentences ~0.5 s, the long text 20 passes.
STEP_DELAY = 0.12
LONG = " ".join(f"This is sentence number {n} of a long text that keeps going." for n in range(40))
#: Stated bounds (seconds), from the pass length above with room for a busy 2-core machine.
SHORT_DELAY_BOUND = 3.0  # how much a long request may delay a short one queued behind it
STOP_BOUND = 2.0  # how soon a request whose client left gives its worker back


class SlowBackend:
    """The voice's real graphs, each velocity evaluation ``delay`` seconds slower; records the
    time of every call."""

    def __init__(self, backend, delay: float):
        self.backend = backend
        self.delay = delay
        self.on_gpu = False
        self.calls: list[float] = []

    def encode(self, *args):
        self.calls.append(time.monotonic())
        return self.backend.encode(*args)

    def bind_velocity(self, *args):
        run = self.backend.bind_velocity(*args)

        def slow(x, t):
            self.calls.append(time.monotonic())
            time.sleep(self.delay)
            return run(x, t)

        return slow

    def vocode(self, mel):
        return self.backend.vocode(mel)


@pytest.fixture
def slow(voice):
    backend = SlowBackend(voice.backend, STEP_DELAY)
    return Voice(voice.meta, backend, voice.path), backend


def test_a_request_is_bounded_by_the_audio_it_would_give(voice, make_server):
    server = make_server(create_app({"tiny": voice}, max_audio_seconds=5.0))
    long_text = "One two three four five six seven eight nine ten. " * 8
    for stream in (False, True):
        body = assert_error(server.speech(input=long_text, stream=stream), 400, "input")
        assert body["code"] == "audio_too_long"
        assert "at most 0.0833333 minutes" in body["message"]
    ok = server.speech(input="One two three.", seed=0)
    assert ok.status_code == 200 and float(ok.headers["X-Audio-Seconds"]) < 5.0
    with pytest.raises(ValueError, match="max_audio_seconds must be a positive number"):
        create_app({"tiny": voice}, max_audio_seconds=0)


def test_a_client_that_leaves_stops_its_work_and_frees_the_worker(slow, make_server):
    voice, backend = slow
    server = make_server(create_app({"tiny": voice}, workers=1, max_audio_seconds=3600))
    started = time.monotonic()
    impatient = httpx.Client(base_url=server.url, timeout=1.0)
    with impatient, pytest.raises(httpx.ReadTimeout):  # leaves after 1 s; it needs ~10 s
        impatient.post("/v1/audio/speech", json={"input": LONG, "seed": 1, "steps": 4})
    left = time.monotonic()
    assert left - started < 2.0
    n_before = len(backend.calls)
    sent = time.monotonic()
    short = server.speech(input="Hello there.", seed=2, steps=4)
    done = time.monotonic()
    assert short.status_code == 200
    # the long request gave the worker back within one pass; the short one was not held up
    first_short_call = backend.calls[n_before] if len(backend.calls) > n_before else done
    stop = first_short_call - left
    assert stop < STOP_BOUND, f"the abandoned request ran on {stop:.2f} s"
    assert done - sent < SHORT_DELAY_BOUND, f"the short request took {done - sent:.2f} s"
    quiet = len(backend.calls)
    time.sleep(0.5)
    assert len(backend.calls) == quiet  # nothing of the long request runs any more
    assert 'path="/v1/audio/speech",status="499"} 1' in server.client.get("/metrics").text


def test_every_request_has_a_time_limit(slow, make_server):
    voice, _ = slow
    app = create_app({"tiny": voice}, workers=1, request_timeout_s=1.0, max_audio_seconds=3600)
    server = make_server(app)
    started = time.monotonic()
    body = assert_error(server.speech(input=LONG, seed=1, steps=4), 504)
    assert body["code"] == "request_timeout"
    assert time.monotonic() - started < 1.0 + STOP_BOUND
    sent = time.monotonic()
    assert server.speech(input="Hello.", seed=2, steps=4).status_code == 200
    assert time.monotonic() - sent < SHORT_DELAY_BOUND  # the timed-out work stopped too


def _connect(server: RunningServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5.0)
    sock.settimeout(5.0)
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closes ``sock`` (reading whatever it sends first)."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return float("inf")
    except ConnectionResetError:
        pass
    return time.monotonic() - start


def test_a_slow_request_head_is_cut_off(voice, make_server):
    server = make_server(create_app({"tiny": voice}), http=timed_h11(0.5))
    sock = _connect(server)
    stop = threading.Event()

    def dribble():  # one header byte every 0.1 s, never finishing the head
        sock.sendall(b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        while not stop.is_set():
            try:
                sock.sendall(b"a")
            except OSError:
                return
            time.sleep(0.1)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(dribble)
        try:
            assert _closed_within(sock, 3.0) < 2.0
        finally:
            stop.set()
    sock.close()
    assert server.client.get("/health").status_code == 200  # a normal client is unaffected


def test_a_slow_body_is_a_408(voice, make_server):
    server = make_server(create_app({"tiny": voice}, body_timeout_s=0.5))
    sock = _connect(server)
    sock.sendall(
        b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n" + b'{"input": "He'
    )
    start = time.monotonic()
    answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert time.monotonic() - start < 2.0
    sock.close()


def test_hanging_up_mid_body_is_a_quiet_499(voice, make_server, caplog):
    server = make_server(create_app({"tiny": voice}))
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            sock = _connect(server)
            sock.sendall(
                b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + b'{"inp'
            )
            time.sleep(0.1)
            sock.close()
        deadline = time.monotonic() + 5
        while 'status="499"} 3' not in (text := server.client.get("/metrics").text):
            assert time.monotonic() < deadline, text
            time.sleep(0.05)
    assert 'status="500"' not in text
    assert "flowaudio bug" not in caplog.text and "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
