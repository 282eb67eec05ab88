"""uvicorn's HTTP/1.1 protocol with a deadline for the request head (slow-client defence).

uvicorn times out idle keep-alive connections, but the first byte of a request cancels that
timer, and nothing bounds how long the rest of the head may take: a client sending one header
byte every few seconds holds its connection (and a file descriptor) forever. :func:`timed_h11`
gives uvicorn a protocol class that closes a connection whose request line and headers are not
complete ``header_timeout`` seconds after the connection opened or the previous answer ended.
The body has its own bound in the app (``create_app(body_timeout_s=...)``, a 408).

Use: ``uvicorn.run(app, http=timed_h11(10.0), ...)`` (``flowaudio serve`` does).
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HEADER_TIMEOUT_S", "timed_h11"]

logger = logging.getLogger(__name__)

HEADER_TIMEOUT_S = 10.0


def timed_h11(header_timeout: float = HEADER_TIMEOUT_S) -> type[H11Protocol]:
    """An ``H11Protocol`` subclass that enforces ``header_timeout`` seconds for each head."""
    if not header_timeout > 0:
        raise ValueError(f"header_timeout must be > 0 seconds, got {header_timeout!r}")

    class TimedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._waiting_for_head():
                return
            self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self._waiting_for_head():  # a pipelined request may already have started
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _waiting_for_head(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _expire(self) -> None:
            self._head_timer = None
            if self._waiting_for_head() and not self.transport.is_closing():
                logger.info(
                    "closing a connection whose request head took over %g s (%s)",
                    header_timeout,
                    self.client,
                )
                self.transport.close()

    return TimedH11Protocol
