"""Fixtures for the HTTP tests: servers built with ``create_app`` around ``tiny_voice``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from server_helpers import RunningServer, serve

from flowaudio.runtime.synthesizer import Voice
from flowaudio.server import create_app


@pytest.fixture(scope="session")
def voice(tiny_voice) -> Voice:
    return Voice.load(tiny_voice, threads=1)


@pytest.fixture(scope="session")
def server(voice) -> Iterator[RunningServer]:
    """The default app around the tiny voice (2 speakers: rms, slt), max_chars 300."""
    with serve(create_app({"tiny": voice}, max_chars=300)) as running:
        yield running


@pytest.fixture
def make_server():
    """``make_server(app, **uvicorn_options)`` -> a started server, stopped after the test."""
    servers = []

    def make(app, **uvicorn_options) -> RunningServer:
        servers.append(RunningServer(app, **uvicorn_options).start())
        return servers[-1]

    yield make
    for running in servers:
        running.stop()
