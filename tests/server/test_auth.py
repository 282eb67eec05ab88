"""The optional API key: API routes need ``Authorization: Bearer KEY``; /health, the web page and
the API description stay open."""

from __future__ import annotations

import hmac

import openai
import pytest
from server_helpers import assert_error, serve

from flowaudio.server import create_app

KEY = "test-key-0123456789"


@pytest.fixture(scope="module")
def locked(voice):
    with serve(create_app({"tiny": voice}, api_key=KEY)) as running:
        yield running


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/models"), ("GET", "/metrics"), ("POST", "/v1/audio/speech")],
)
def test_api_routes_need_the_key(locked, method, path):
    body = {"json": {"input": "Hi."}} if method == "POST" else {}
    for headers, code in [
        ({}, "missing_api_key"),
        (_bearer("wrong"), "invalid_api_key"),
        (_bearer(KEY + "x"), "invalid_api_key"),
        ({"Authorization": f"Basic {KEY}"}, "missing_api_key"),  # not a bearer token
        ({"Authorization": KEY}, "missing_api_key"),
    ]:
        response = locked.client.request(method, path, headers=headers, **body)
        error = assert_error(response, 401)
        assert error["code"] == code and error["type"] == "invalid_request_error"
        assert "Authorization: Bearer" in error["message"] and KEY not in error["message"]
        assert response.headers["www-authenticate"] == "Bearer"
    ok = locked.client.request(method, path, headers=_bearer(KEY), **body)
    assert ok.status_code == 200, ok.text
    lower = locked.client.request(method, path, headers={"authorization": f"bearer {KEY}"}, **body)
    assert lower.status_code == 200  # the scheme is case-insensitive (RFC 7235)


def test_health_the_page_and_the_docs_stay_open(locked):
    health = locked.client.get("/health").json()
    assert health["status"] == "ok" and health["api_key_required"] is True
    page = locked.client.get("/")
    assert page.status_code == 200 and '"api_key_required": true' in page.text
    assert KEY not in page.text
    assert locked.client.get("/docs").status_code == 200
    spec = locked.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert spec["paths"]["/v1/audio/speech"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in spec["paths"]["/health"]["get"]


def test_the_key_is_checked_before_the_body_is_read(locked):
    # No key and a body too large: the answer is the 401, not the 413.
    response = locked.client.post("/v1/audio/speech", content=b"x" * 100_000)
    assert assert_error(response, 401)["code"] == "missing_api_key"


def test_the_key_is_compared_in_constant_time(locked, monkeypatch):
    compared = []

    def spy(a, b):
        compared.append((a, b))
        return hmac_compare(a, b)

    hmac_compare = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert locked.client.get("/v1/models", headers=_bearer("nope")).status_code == 401
    assert compared == [(b"nope", KEY.encode())]


def test_openai_client_sends_the_key(locked):
    client = openai.OpenAI(base_url=f"{locked.url}/v1", api_key=KEY, max_retries=0)
    response = client.audio.speech.create(model="tiny", voice="slt", input="Hello")
    assert response.content[:4] == b"RIFF"
    stranger = openai.OpenAI(base_url=f"{locked.url}/v1", api_key="not-it", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        stranger.audio.speech.create(model="tiny", voice="slt", input="Hello")


@pytest.mark.parametrize("bad", ["", "two words", "tab\there", "ключ"])
def test_create_app_refuses_a_key_no_client_can_send(voice, bad):
    with pytest.raises(ValueError, match="api_key"):
        create_app({"tiny": voice}, api_key=bad)
