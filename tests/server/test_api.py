"""The HTTP API over a real socket: formats, voices, the OpenAI client, errors, metrics."""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import openai
import pytest
import soundfile as sf
from server_helpers import assert_error

from flowaudio.runtime.contract import (
    SCHEDULES,
    SETTING_RANGES,
    SOLVERS,
    SettingError,
    SynthesisConfig,
)
from flowaudio.server import create_app
from flowaudio.server.app import _synthesis_error
from flowaudio.server.formats import FORMATS
from flowaudio.server.request import SpeechRequest


def test_health_and_models(server):
    health = server.client.get("/health").json()
    assert health["status"] == "ok"
    assert health["voices"] == ["rms", "slt"]
    assert health["queue_depth"] == 0
    models = server.client.get("/v1/models").json()
    assert models["object"] == "list"
    [model] = models["data"]
    assert model["id"] == "tiny" and model["speakers"] == ["rms", "slt"]
    assert model["voices"] == ["tiny/rms", "tiny/slt"] and model["sample_rate"] == 16000
    assert model["defaults"] == {
        "steps": 4,
        "solver": "euler",
        "schedule": "uniform",
        "temperature": 0.667,
        "guidance_scale": 1.0,
    }


def test_wav_is_deterministic_with_a_seed(server, voice):
    first = server.speech(input="The cat sat on the mat.", voice="slt", seed=3)
    second = server.speech(input="The cat sat on the mat.", voice="slt", seed=3)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "audio/wav"
    assert first.headers["x-voice"] == "tiny/slt"
    assert first.content == second.content
    samples, rate = sf.read(io.BytesIO(first.content), dtype="float32")
    assert rate == 16000
    expected = voice.synthesize("The cat sat on the mat.", speaker="slt", seed=3)
    assert len(samples) == len(expected.samples)
    assert np.abs(samples - expected.samples).max() < 1e-3  # 16-bit rounding
    assert float(first.headers["x-audio-seconds"]) == pytest.approx(expected.duration, abs=1e-3)
    processing = float(first.headers["x-processing-seconds"])
    assert 0 < processing < 30
    assert float(first.headers["x-rtf"]) == pytest.approx(processing / expected.duration, rel=0.05)


def test_pcm_is_raw_16_bit_with_the_rate_in_a_header(server):
    wav = server.speech(input="Hello there.", seed=1, response_format="wav")
    pcm = server.speech(input="Hello there.", seed=1, response_format="pcm")
    assert pcm.status_code == 200
    assert pcm.headers["content-type"] == "audio/pcm"
    assert pcm.headers["x-sample-rate"] == "16000"
    assert pcm.headers["x-sample-format"] == "s16le"
    assert pcm.content == wav.content[44:]  # the same samples without the WAV header


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f not in ("wav", "pcm")])
def test_compressed_formats_decode(server, fmt):
    response = server.speech(input="Hello there.", seed=1, response_format=fmt)
    assert response.status_code == 200, response.text
    samples, rate = sf.read(io.BytesIO(response.content))
    assert rate == 16000 and len(samples) > 1000


def test_flowaudio_extras_change_the_audio(server):
    base = server.speech(input="Time flies.", seed=1, steps=2, solver="heun").content
    assert server.speech(input="Time flies.", seed=2, steps=2, solver="heun").content != base
    slow = server.speech(input="Time flies.", seed=1, speed=0.5)
    fast = server.speech(input="Time flies.", seed=1, speed=2.0)
    assert len(slow.content) > len(fast.content)
    assert server.speech(input="Time flies.", temperature=0.0, model="tts-1").status_code == 200


def test_every_synthesis_setting_reaches_the_runtime(server, voice):
    settings = {"steps": 3, "schedule": "sway", "temperature": 0.5, "guidance_scale": 1.0}
    settings |= {"speed": 1.25, "seed": 7}
    response = server.speech(input="Time flies.", voice="slt", solver="HEUN", **settings)
    assert response.status_code == 200, response.text
    samples, _ = sf.read(io.BytesIO(response.content), dtype="float32")
    config = SynthesisConfig(solver="heun", **settings)
    expected = voice.synthesize("Time flies.", speaker="slt", config=config)
    assert len(samples) == len(expected.samples)
    assert np.abs(samples - expected.samples).max() < 1e-3


def test_every_runtime_setting_is_a_request_field():
    settings = {f.name for f in dataclasses.fields(SynthesisConfig)}
    assert settings <= set(SpeechRequest.model_fields), settings - set(SpeechRequest.model_fields)


def test_language_check_strict_refuses_other_languages(server):
    french = "Le chat est sur la table et les enfants sont dans le jardin."
    error = assert_error(server.speech(input=french, language_check="STRICT"), 400, "input")
    assert error["code"] == "language_mismatch" and "French" in error["message"]
    assert server.speech(input=french, language_check="off", seed=1).status_code == 200


def test_the_request_schema_in_docs_is_the_runtime_contract(server):
    """/docs shows the body the server checks: the runtime's bounds, this server's max_chars."""
    assert server.client.get("/docs").status_code == 200
    operation = server.client.get("/openapi.json").json()["paths"]["/v1/audio/speech"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    props = schema["properties"]
    assert schema["required"] == ["input"] and schema["additionalProperties"] is False
    assert props["input"]["maxLength"] == 300
    for name in ("steps", "speed", "temperature", "guidance_scale"):
        [branch] = [b for b in props[name]["anyOf"] if b["type"] != "null"]
        assert (branch["minimum"], branch["maximum"]) == SETTING_RANGES[name], name
    assert props["response_format"]["enum"] == list(FORMATS)
    assert props["solver"]["anyOf"][0]["enum"] == list(SOLVERS)
    assert props["schedule"]["anyOf"][0]["enum"] == list(SCHEDULES)
    assert operation["responses"]["400"]["content"]["application/json"]["schema"]
    assert "security" not in operation  # no API key on this server


def test_voice_resolution_with_one_voice(server):
    def voice_of(**body):
        response = server.speech(input="Hi.", seed=0, **body)
        assert response.status_code == 200, response.text
        return response.headers["x-voice"]

    assert voice_of() == "tiny/rms"  # no voice: the first speaker
    assert voice_of(voice="slt") == "tiny/slt"
    assert voice_of(voice="tiny/slt") == "tiny/slt"
    assert voice_of(voice="tiny") == "tiny/rms"
    assert voice_of(voice=None) == "tiny/rms"


def test_voice_resolution_with_several_voices(voice, make_server):
    server = make_server(create_app({"a": voice, "b": voice}))

    def voice_of(**body):
        return server.speech(input="Hi.", seed=0, **body).headers["x-voice"]

    assert voice_of(voice="slt") == "a/slt"
    assert voice_of(voice="slt", model="b") == "b/slt"
    assert voice_of(voice="b/slt") == "b/slt"
    assert voice_of(model="b") == "b/rms"
    error = assert_error(server.speech(input="Hi.", voice="alloy"), 400, "voice")
    assert "a/rms, a/slt, b/rms, b/slt" in error["message"]
    assert [m["id"] for m in server.client.get("/v1/models").json()["data"]] == ["a", "b"]


def test_openai_client(server):
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
    response = client.audio.speech.create(
        model="flowaudio", voice="slt", input="Hello", response_format="wav"
    )
    samples, rate = sf.read(io.BytesIO(response.content))
    assert rate == 16000 and len(samples) > 1000

    with client.audio.speech.with_streaming_response.create(
        model="flowaudio",
        voice="rms",
        input="Hello there. How are you today?",
        response_format="pcm",
        extra_body={"stream": True, "seed": 5, "steps": 2},
    ) as streamed:
        assert streamed.headers["x-sample-rate"] == "16000"
        pcm = b"".join(streamed.iter_bytes())
    assert len(pcm) > 2000 and len(pcm) % 2 == 0

    with pytest.raises(openai.BadRequestError) as excinfo:
        client.audio.speech.create(model="tts-1", voice="alloy", input="Hello")
    assert "rms, slt" in str(excinfo.value)


TOO_LONG = "a" * 301


@pytest.mark.parametrize(
    ("body", "status", "param", "words"),
    [
        ({"voice": "slt"}, 400, "input", "missing"),
        ({"input": ""}, 400, "input", "empty"),
        ({"input": "   \n"}, 400, "input", "empty"),
        ({"input": TOO_LONG}, 400, "input", "300"),
        ({"input": 5}, 400, "input", "string"),
        ({"input": ["Hello"]}, 400, "input", "string"),
        ({"input": "\ud800 hello"}, 400, "input", "Unicode"),
        ({"input": "😀😀😀"}, 400, "input", "pronounceable"),
        ({"input": "Hi.", "voice": "alloy"}, 400, "voice", "rms, slt"),
        ({"input": "Hi.", "voice": "tiny/nobody"}, 400, "voice", "rms, slt"),
        ({"input": "Hi.", "voice": 3}, 400, "voice", "string"),
        ({"input": "Hi.", "response_format": "aac"}, 400, "response_format", "wav, pcm"),
        ({"input": "Hi.", "response_format": "flac", "stream": True}, 400, "stream", "wav"),
        ({"input": "Hi.", "stream": "yes"}, 400, "stream", "true or false"),
        ({"input": "Hi.", "stream_format": "sse"}, 400, "stream_format", "audio"),
        ({"input": "Hi.", "speed": 10}, 400, "speed", "[0.25, 4]"),
        ({"input": "Hi.", "speed": "fast"}, 400, "speed", "number"),
        ({"input": "Hi.", "steps": 0}, 400, "steps", "[1, 128]"),
        ({"input": "Hi.", "steps": 1.5}, 400, "steps", "integer"),
        ({"input": "Hi.", "steps": True}, 400, "steps", "integer"),
        ({"input": "Hi.", "seed": -1}, 400, "seed", "seed"),
        ({"input": "Hi.", "solver": "magic"}, 400, "solver", "euler"),
        ({"input": "Hi.", "temperature": 3}, 400, "temperature", "[0, 2]"),
        ({"input": "Hi.", "voices": "slt"}, 400, "voices", "accepted"),
        ({"input": "Hi.", "speed": 9, "sped": 1}, 400, "sped", "unknown field"),
        ({"input": "Hi.", "schedule": "linear"}, 400, "schedule", "uniform, sway"),
        ({"input": "Hi.", "guidance_scale": 11}, 400, "guidance_scale", "[0, 10]"),
        ({"input": "Hi.", "steps": "4"}, 400, "steps", "integer"),
        ({"input": "Hi.", "seed": 2**63}, 400, "seed", "9223372036854775808"),
        ({"input": None}, 400, "input", "string"),
        ({"input": "Hi.", "language_check": "loud"}, 400, "language_check", "warn, strict, off"),
    ],
)
def test_bad_requests_are_4xx_with_the_value_and_the_fix(server, body, status, param, words):
    error = assert_error(server.speech(**body), status, param)
    assert words in error["message"]
    assert error["type"] == "invalid_request_error"


def test_a_refusal_blames_the_field_of_the_exception_not_its_words():
    setting = SettingError("guidance_scale", "guidance_scale must be 1 for this text's voice")
    assert _synthesis_error(setting).param == "guidance_scale"
    assert _synthesis_error(ValueError("the text is fine, the voice is not")).param is None
    assert _synthesis_error(ValueError("no pronounceable text"), param="input").param == "input"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"input": ', "not valid JSON"),
        (b"", "empty"),
        (b'["Hello"]', "JSON object"),
        (b'{"input": "Hi.", "speed": NaN}', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[" * 100_000, "larger than"),
        (b"[" * 50_000, "deeply"),
    ],
)
def test_malformed_bodies(server, raw, words):
    response = server.client.post(
        "/v1/audio/speech", content=raw, headers={"content-type": "application/json"}
    )
    error = assert_error(response, (400, 413))
    assert words in error["message"]


def test_body_size_is_bounded(server):
    body = json.dumps({"input": "a" * 70_000}).encode()
    error = assert_error(server.client.post("/v1/audio/speech", content=body), 413)
    assert "65536" in error["message"]


def test_unknown_routes_and_methods_are_json(server):
    assert "POST /v1/audio/speech" in assert_error(server.client.get("/v1/nothing"), 404)["message"]
    assert "POST" in assert_error(server.client.get("/v1/audio/speech"), 405)["message"]


def test_metrics(voice, make_server):
    server = make_server(create_app({"tiny": voice}))
    ok = server.speech(input="Hello there.", seed=1)
    assert_error(server.speech(input=""), 400)
    response = server.client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'flowaudio_http_requests_total{path="/v1/audio/speech",status="200"} 1' in text
    assert 'flowaudio_http_requests_total{path="/v1/audio/speech",status="400"} 1' in text
    assert 'flowaudio_speech_request_duration_seconds_bucket{le="+Inf"} 2' in text
    assert "# TYPE flowaudio_speech_request_duration_seconds histogram" in text
    audio_seconds = float(ok.headers["x-audio-seconds"])
    assert server.metric("flowaudio_audio_seconds_total") == pytest.approx(audio_seconds, abs=2e-3)
    assert server.metric("flowaudio_queue_depth") == 0
    assert server.metric("flowaudio_queue_capacity") == 33
    assert server.metric("flowaudio_batch_size_count") == 1
    server.client.get("/no/such/path")
    assert 'path="other",status="404"} 1' in server.client.get("/metrics").text
    assert "python_info{" in text  # the client library's process and runtime metrics
    openmetrics = server.client.get(
        "/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")


def test_create_app_refuses_bad_settings(voice, tmp_path):
    with pytest.raises(ValueError, match="at least one voice"):
        create_app({})
    with pytest.raises(ValueError, match="max_chars"):
        create_app({"tiny": voice}, max_chars=0)
    with pytest.raises(ValueError, match="workers"):
        create_app({"tiny": voice}, workers=0)
    with pytest.raises(ValueError, match="'/'"):
        create_app({"a/b": voice})
    with pytest.raises(ValueError, match="not a flowaudio voice"):
        create_app([tmp_path])


def test_ssml_input_and_malformed_ssml_is_a_400(server, voice):
    ssml = '<speak>Hello.<break time="600ms"/>There.</speak>'
    response = server.speech(input=ssml, voice="slt", seed=3)
    assert response.status_code == 200, response.text
    samples, _ = sf.read(io.BytesIO(response.content), dtype="float32")
    assert len(samples) == len(voice.synthesize(ssml, speaker="slt", seed=3).samples)
    error = assert_error(server.speech(input="<speak>Hello <break", voice="slt"), 400, "input")
    assert "malformed SSML" in error["message"]
    error = assert_error(server.speech(input="Say [[ ☃ ]].", voice="slt"), 400, "input")
    assert "cannot say" in error["message"]
