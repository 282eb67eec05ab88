"""Chunked audio: first bytes before the end, a readable WAV, work freed on disconnect."""

from __future__ import annotations

import io
import json
import time

import httpx
import numpy as np
import soundfile as sf
from server_helpers import InstrumentedVoice, assert_error

from flowaudio.server import create_app

PARAGRAPH = (
    "The morning was quiet. A light rain fell on the empty streets of the old town. "
    "Somewhere a dog barked twice and then was still. The baker opened his shop. "
    "Nobody came in for an hour."
)


def _post_stream(server, **body):
    return server.client.stream(
        "POST",
        "/v1/audio/speech",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )


def test_streamed_wav_equals_the_whole_wav(server):
    whole = server.speech(input=PARAGRAPH, voice="slt", seed=4, response_format="pcm").content
    with _post_stream(server, input=PARAGRAPH, voice="slt", seed=4, stream=True) as response:
        assert response.status_code == 200
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        data = b"".join(response.iter_raw())
    assert data[:4] == b"RIFF" and data[36:40] == b"data"
    samples, rate = sf.read(io.BytesIO(data), dtype="int16")  # header sizes: "unknown"
    assert rate == 16000
    expected = np.frombuffer(whole, dtype="<i2")
    # Voice.stream vocodes overlapping windows: the same length, nearly the same samples.
    assert len(samples) == len(expected)
    assert np.corrcoef(samples.astype(float), expected.astype(float))[0, 1] > 0.9


def test_first_bytes_arrive_before_the_whole_text_is_synthesized(voice, make_server):
    slow = InstrumentedVoice(voice, delay=0.05)  # every chunk takes >= 50 ms
    server = make_server(create_app({"tiny": slow}))
    start = time.perf_counter()
    arrivals = []
    with _post_stream(server, input=PARAGRAPH, response_format="pcm", stream=True) as response:
        assert response.status_code == 200
        assert response.headers["x-sample-rate"] == "16000"
        for chunk in response.iter_raw():
            arrivals.append((time.perf_counter() - start, slow.chunks, len(chunk)))
    end = time.perf_counter() - start
    first_time, chunks_made_by_then, _ = arrivals[0]
    assert slow.chunks >= 8 and slow.streams_finished == 1
    assert chunks_made_by_then <= 3  # the first bytes left after about one chunk...
    assert first_time < end / 3  # ...long before the response completed
    assert sum(n for *_, n in arrivals) % 2 == 0


def test_a_client_that_disconnects_stops_its_stream(voice, make_server):
    slow = InstrumentedVoice(voice, delay=0.05)
    server = make_server(create_app({"tiny": slow}))
    # How many chunks the whole text makes, streamed to the end:
    with _post_stream(server, input=PARAGRAPH, response_format="pcm", stream=True) as response:
        b"".join(response.iter_raw())
    total = slow.chunks
    slow.chunks = 0

    with httpx.Client(base_url=server.url) as client:  # its own connection, closed below
        request = client.build_request(
            "POST", "/v1/audio/speech", json={"input": PARAGRAPH, "stream": True}
        )
        response = client.send(request, stream=True)
        next(response.iter_raw())
        response.close()
    deadline = time.monotonic() + 5
    while slow.streams_closed < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slow.streams_closed == 2 and slow.streams_finished == 1
    assert slow.chunks < total / 2, (slow.chunks, total)
    assert server.metric("flowaudio_streams_cancelled_total") == 1
    assert server.metric("flowaudio_queue_depth") == 0
    chunks_after_close = slow.chunks
    time.sleep(0.3)
    assert slow.chunks == chunks_after_close  # nothing more is computed for the gone client
    assert server.speech(input="Still here.").status_code == 200


def test_stream_errors_come_before_the_first_byte(server):
    assert_error(server.speech(input="😀😀", stream=True), 400, "input")
    assert_error(server.speech(input="Hi.", stream=True, response_format="mp3"), 400, "stream")
    assert server.metric("flowaudio_queue_depth") == 0
