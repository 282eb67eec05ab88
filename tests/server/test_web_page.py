"""The web page at ``/``: served whole (no external assets), and used in a real browser, headless
Chromium (the Debian package scripts/setup.sh installs) driven by Playwright, against a server on
127.0.0.1 with the tiny voice: type, press Speak, audio arrives."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from importlib import resources

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from server_helpers import serve

from flowaudio.server import create_app

KEY = "page-key-42"
#: Milliseconds a browser step may take (a synthesis of the tiny voice takes well under 1 s).
WAIT_MS = 15_000


def _chromium() -> str | None:
    """A Chromium or Chrome executable: $FLOWAUDIO_CHROMIUM, else one on the PATH."""
    names = ("chromium", "chromium-browser", "google-chrome")
    return os.environ.get("FLOWAUDIO_CHROMIUM") or next(
        filter(None, map(shutil.which, names)), None
    )


def test_the_page_is_one_offline_file(server):
    html = resources.files("flowaudio.server").joinpath("page.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html  # nothing fetched from elsewhere
    served = server.client.get("/")
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/html")
    config = served.text.split('<script id="config" type="application/json">')[1]
    config = json.loads(config.split("</script>")[0])
    assert config["max_chars"] == 300 and config["api_key_required"] is False
    assert "__FLOWAUDIO_CONFIG__" not in served.text


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    if executable is None:
        pytest.skip(
            "no Chromium found: apt-get install chromium (scripts/setup.sh does), or set "
            "FLOWAUDIO_CHROMIUM to a Chromium/Chrome executable"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--autoplay-policy=no-user-gesture-required", "--mute-audio"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors  # no uncaught JavaScript error


def _speak(page: Page, text: str) -> dict:
    """Type ``text``, press Speak; -> the request body the page sent (the audio has loaded)."""
    page.fill("#text", text)
    with page.expect_response("**/v1/audio/speech") as answer:
        page.click("#play")
    response = answer.value
    assert response.status == 200, response.text()
    assert response.headers["content-type"] == "audio/wav"
    page.wait_for_function(
        "() => { const a = document.getElementById('audio');"
        " return a.src.startsWith('blob:') && a.duration > 0 && isFinite(a.duration); }"
    )
    return json.loads(response.request.post_data)


def test_type_speak_and_hear(page, server):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server.url)
    page.wait_for_selector("#voice option", state="attached")
    assert page.is_enabled("#play")
    assert page.eval_on_selector_all("#speaker option", "os => os.map(o => o.value)") == [
        "rms",
        "slt",
    ]
    page.select_option("#speaker", "slt")
    page.fill("#steps", "2")
    page.fill("#seed", "5")
    body = _speak(page, "Hello from the browser.")
    assert body["voice"] == "tiny/slt" and body["steps"] == 2 and body["seed"] == 5
    assert body["input"] == "Hello from the browser." and body["response_format"] == "wav"
    assert page.text_content("#rtf").startswith("RTF ")
    assert page.get_attribute("#download", "download") == "flowaudio.wav"
    assert page.get_attribute("#download", "href").startswith("blob:")
    assert page.get_attribute("#steps", "max") == "128"  # the runtime's MAX_STEPS, from the server
    assert all(url.startswith((server.url, "blob:")) for url in requested), requested


def test_a_server_refusal_is_shown(page, server):
    page.goto(server.url)
    page.wait_for_selector("#voice option", state="attached")
    page.fill("#text", "😀😀😀")
    page.click("#play")
    page.wait_for_function("() => document.getElementById('status').className === 'error'")
    assert "no pronounceable text" in page.text_content("#status")
    assert page.is_enabled("#play")  # ready for the next try


def test_the_page_asks_for_the_key(page, voice):
    with serve(create_app({"tiny": voice}, api_key=KEY)) as locked:
        page.goto(locked.url)
        page.wait_for_selector("#key-row", state="visible")
        page.wait_for_function("() => document.getElementById('status').textContent !== ''")
        assert "needs an API key" in page.text_content("#status")
        assert page.is_disabled("#play")
        page.fill("#key", "wrong")
        page.click("#key-use")
        page.wait_for_function(
            "() => document.getElementById('status').textContent.includes('refused')"
        )
        page.fill("#key", KEY)
        page.click("#key-use")
        page.wait_for_selector("#voice option", state="attached")
        _speak(page, "The key works.")
