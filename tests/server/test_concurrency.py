"""The bounded queue (503 + Retry-After), micro-batching, and work off the event loop."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from server_helpers import InstrumentedVoice, assert_error

from flowaudio.server import create_app


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_past_the_queue_bound_the_server_answers_503(voice, make_server):
    gate = threading.Event()
    held = InstrumentedVoice(voice, gate=gate)
    server = make_server(create_app({"tiny": held}, workers=1, max_queue=1))
    depth = lambda: server.client.get("/health").json()["queue_depth"]  # noqa: E731
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(server.speech, input="One.", seed=1)  # in the worker, held
        _wait_for(lambda: depth() == 1)
        waiting = pool.submit(server.speech, input="Two.", seed=2)  # in the queue
        _wait_for(lambda: depth() == 2)
        started = time.perf_counter()
        refused = server.speech(input="Three.", seed=3)
        assert time.perf_counter() - started < 2  # refused at once, not queued
        error = assert_error(refused, 503)
        assert refused.headers["retry-after"] == "1"
        assert error["type"] == "server_busy" and "capacity 2" in error["message"]
        # The event loop is free while synthesis is held in the worker thread:
        assert server.client.get("/health").status_code == 200
        gate.set()
        assert running.result().status_code == 200
        assert waiting.result().status_code == 200
    assert depth() == 0
    assert server.speech(input="Four.").status_code == 200
    metrics = server.client.get("/metrics").text
    assert 'path="/v1/audio/speech",status="503"} 1' in metrics


def test_concurrent_unseeded_requests_are_batched(voice, make_server):
    counted = InstrumentedVoice(voice)
    server = make_server(create_app({"tiny": counted}, batch_window_ms=200, max_batch=8))
    texts = ["One two.", "Three four five.", "Six.", "Seven eight."]
    with ThreadPoolExecutor(len(texts)) as pool:
        responses = list(pool.map(lambda t: server.speech(input=t, voice="slt"), texts))
    assert all(r.status_code == 200 for r in responses)
    assert counted.calls == [("batch", 4)]
    assert server.metric("flowaudio_batch_size_sum") == 4
    # Each answer is its own text's audio (lengths follow the texts):
    durations = [float(r.headers["x-audio-seconds"]) for r in responses]
    assert durations[2] < durations[1]


def test_batching_keeps_seeds_and_settings_apart(voice, make_server):
    counted = InstrumentedVoice(voice)
    server = make_server(create_app({"tiny": counted}, batch_window_ms=200))
    bodies = [
        {"input": "One.", "seed": 1},  # seeded: alone, so the seed gives the same audio
        {"input": "One.", "seed": 1},
        {"input": "Two.", "voice": "slt"},
        {"input": "Three.", "voice": "rms"},  # another speaker: another batch
    ]
    with ThreadPoolExecutor(len(bodies)) as pool:
        responses = list(pool.map(lambda b: server.speech(**b), bodies))
    assert all(r.status_code == 200 for r in responses)
    assert responses[0].content == responses[1].content
    assert sorted(counted.calls) == [("batch", 1), ("batch", 1)] + [("synthesize", 1)] * 2


def test_one_bad_text_does_not_fail_its_batch(voice, make_server):
    counted = InstrumentedVoice(voice)
    server = make_server(create_app({"tiny": counted}, batch_window_ms=200))
    texts = ["Hello there.", "😀😀😀", "Good morning."]
    with ThreadPoolExecutor(len(texts)) as pool:
        responses = list(pool.map(lambda t: server.speech(input=t), texts))
    assert [r.status_code for r in responses] == [200, 400, 200]
    assert_error(responses[1], 400, "input")
    # the bad text is refused by the length estimate, before it can join (and fail) a batch
    assert sum(n for _, n in counted.calls) == 2, counted.calls


def test_batched_audio_matches_unbatched_lengths(voice, make_server):
    counted = InstrumentedVoice(voice)
    batched = make_server(create_app({"tiny": counted}, batch_window_ms=100))
    plain = make_server(create_app({"tiny": voice}))
    texts = ["A bird in the hand.", "Time flies like an arrow, they say."]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda t: batched.speech(input=t), texts))
    alone = [plain.speech(input=t) for t in texts]
    for a, b in zip(together, alone, strict=True):
        assert a.status_code == b.status_code == 200
        # Durations come from the encoder, not the noise: the same length either way.
        assert len(a.content) == len(b.content)


def test_a_queued_request_whose_client_left_is_never_synthesized(voice, make_server):
    gate = threading.Event()
    held = InstrumentedVoice(voice, gate=gate)
    server = make_server(create_app({"tiny": held}, workers=1, max_queue=4))
    depth = lambda: server.client.get("/health").json()["queue_depth"]  # noqa: E731
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(server.speech, input="One.", seed=1)
        _wait_for(lambda: depth() == 1)
        impatient = httpx.Client(base_url=server.url, timeout=0.3)
        with impatient, pytest.raises(httpx.ReadTimeout):  # gives up, closes its connection
            impatient.post("/v1/audio/speech", json={"input": "Two.", "seed": 2})
        _wait_for(lambda: depth() == 1)  # its place is free again while One is still held
        gate.set()
        assert running.result().status_code == 200
    assert held.calls == [("synthesize", 1)]  # Two never reached the voice
    assert 'path="/v1/audio/speech",status="499"} 1' in server.client.get("/metrics").text
