"""Hypothesis fuzzes the speech request body: whatever arrives, the answer is never a 5xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from server_helpers import serve

from flowaudio.runtime.contract import SCHEDULES, SOLVERS
from flowaudio.server import create_app

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


# Mostly valid values per field, with a few wrong ones among them.
PLAUSIBLE = {
    "model": st.sampled_from(["flowaudio", "tts-1", "tiny", ""]),
    "input": st.one_of(
        st.sampled_from(["Hello there.", "Hi. Ok.", "3:45 pm, $3.50!", "😀", "\ud800", "\x00"]),
        st.text(max_size=45),
    ),
    "voice": st.sampled_from(["rms", "slt", "tiny/slt", "tiny", "alloy", "", "tiny/"]),
    "response_format": st.sampled_from(["wav", "pcm", "flac", "mp3", "opus", "aac", "WAV"]),
    "speed": st.one_of(st.floats(min_value=0.2, max_value=4.5), st.integers(0, 5)),
    "instructions": st.text(max_size=10),
    "stream_format": st.sampled_from(["audio", "audio", "sse"]),
    "stream": st.booleans(),
    "steps": st.integers(0, 6),
    "solver": st.sampled_from([*SOLVERS, "RK4", "magic"]),
    "schedule": st.sampled_from([*SCHEDULES, "SWAY", "linear"]),
    "temperature": st.floats(min_value=-0.2, max_value=2.2),
    "guidance_scale": st.floats(min_value=-0.5, max_value=10.5),
    "language_check": st.sampled_from(["warn", "strict", "off", "Strict", "loud"]),
    "seed": st.one_of(st.integers(0, 1000), st.integers(-2, 2**64)),
}
# Bodies near the valid ones, where synthesis runs: plausible values for every field...
plausible = st.fixed_dictionaries(
    {"input": PLAUSIBLE["input"]}, optional={k: v for k, v in PLAUSIBLE.items() if k != "input"}
)
# ...the same with one field set to any JSON value or one unknown field added...
one_wrong = st.tuples(plausible, st.sampled_from([*PLAUSIBLE, "extra"]), json_values).map(
    lambda t: {**t[0], t[1]: t[2]}
)
# ...and any JSON value under every field name.
anything = st.fixed_dictionaries({}, optional=dict.fromkeys(PLAUSIBLE, json_values))
bodies = st.one_of(
    st.sampled_from([plausible, plausible, one_wrong, anything])
    .flatmap(lambda s: s)
    .map(lambda body: json.dumps(body).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),  # NaN/Infinity as such
    st.binary(max_size=300),
)


@pytest.fixture(scope="module")
def fuzz_server(voice):
    # A short max_chars keeps every accepted request cheap to synthesize.
    with serve(create_app({"tiny": voice}, max_chars=40)) as running:
        yield running


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_no_body_gets_a_5xx(fuzz_server, body):
    response = fuzz_server.client.post(
        "/v1/audio/speech", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code < 500, (body, response.status_code, response.text[:300])
    event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics shows the mix
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["message"], str) and error["message"]
        assert {"type", "param"} <= set(error)
    else:
        assert response.status_code == 200 and len(response.content) > 0


def test_the_server_is_alive_after_the_fuzz(fuzz_server):
    assert fuzz_server.client.get("/health").json()["queue_depth"] == 0
    assert fuzz_server.speech(input="Still fine.").status_code == 200
    metrics = fuzz_server.client.get("/metrics").text
    assert 'status="5' not in metrics
