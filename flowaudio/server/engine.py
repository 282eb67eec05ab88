"""Synthesis off the event loop: a bounded queue, a fixed thread pool, an optional micro-batcher.

* Admission: at most ``workers + max_queue`` speech requests are in the server at once (waiting
  or running, streams until their last byte); one more gets :class:`QueueFullError` (HTTP 503 with
  Retry-After) instead of a growing backlog.
* Slots: every call into a voice (a whole synthesis, one streamed chunk, a batch) takes one of
  ``workers`` slots and runs in a pool of as many threads, so at most ``workers`` calls run and
  nothing waits inside the executor's own unbounded queue. A slot is given back when its call
  *finishes*, not when the request that asked for it is cancelled: a thread cannot be
  interrupted, and the count of busy threads must stay true.
* Micro-batching (``batch_window`` > 0): unseeded requests for the same voice with the same
  settings that arrive within the window, or while every slot is busy, go through the graphs in
  one ``Voice.synthesize_batch`` call. Seeded requests never batch: a text's noise depends on
  its index in the batch, and a seed must give the same audio alone or not. Measured on 2 CPU
  cores this is not faster (see bench/server_load.py and the README), so it is off by default.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from flowaudio.runtime.contract import SynthesisConfig
from flowaudio.runtime.synthesizer import Audio, Voice
from flowaudio.server.metrics import Metrics

__all__ = ["AudioStream", "Engine", "QueueFullError", "Settings", "Ticket"]

T = TypeVar("T")


class QueueFullError(Exception):
    """Every admission place is taken; the client should retry later."""


@dataclass(frozen=True)
class Settings:
    """Per-request synthesis settings: the speaker and the :class:`SynthesisConfig` built from
    the request (None: the voice's default); hashable, for batching."""

    speaker: str | None = None
    config: SynthesisConfig = field(default_factory=SynthesisConfig)

    def kwargs(self) -> dict[str, Any]:
        return {"speaker": self.speaker, "config": self.config}


class Ticket:
    """One admitted request; :meth:`release` (idempotent) gives its place back."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._engine.depth -= 1


@dataclass
class _Group:
    voice: Voice
    settings: Settings
    items: list[tuple[str, asyncio.Future[Audio]]]


class Engine:
    """Runs synthesis for the app; created once per app, used from its event loop only.

    Args:
        workers: voice calls that run at once (threads in the pool).
        max_queue: admitted requests that may wait beyond the ``workers`` running.
        batch_window: seconds to collect requests for one batch (0: no batching).
        max_batch: most requests in one batch.
    """

    def __init__(
        self,
        workers: int = 1,
        max_queue: int = 32,
        batch_window: float = 0.0,
        max_batch: int = 8,
        metrics: Metrics | None = None,
    ):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
        if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 0:
            raise ValueError(f"max_queue must be an integer >= 0, got {max_queue!r}")
        if not batch_window >= 0:
            raise ValueError(f"batch_window must be >= 0 seconds, got {batch_window!r}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch!r}")
        self.workers = workers
        self.capacity = workers + max_queue
        self.batch_window = float(batch_window)
        self.max_batch = max_batch
        self.metrics = metrics or Metrics()
        self.depth = 0
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, "flowaudio-synth")
        self._slots = asyncio.Semaphore(workers)
        self._pending: dict[tuple[int, Settings], _Group] = {}
        self._flushers: dict[tuple[int, Settings], asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- admission ----------------------------------------------------------------------------

    def admit(self) -> Ticket:
        """A place for one request, or :class:`QueueFullError`."""
        if self.depth >= self.capacity:
            raise QueueFullError(f"{self.depth} requests in progress (capacity {self.capacity})")
        self.depth += 1
        return Ticket(self)

    # -- the pool -----------------------------------------------------------------------------

    def _submit_held(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run ``fn`` in the pool under a slot the caller already holds."""
        loop = asyncio.get_running_loop()
        try:
            cf = self._pool.submit(fn)
        except BaseException:
            self._slots.release()
            raise

        def give_back(_: object) -> None:
            # RuntimeError: the loop is closed, the server is shutting down.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._slots.release)

        cf.add_done_callback(give_back)
        return cf

    async def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Wait for a slot, then start ``fn`` in the pool; the slot returns when it finishes."""
        await self._slots.acquire()
        return self._submit_held(fn)

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` in the pool, awaited."""
        return await asyncio.wrap_future(await self.submit(fn))

    # -- synthesis ----------------------------------------------------------------------------

    async def synthesize(
        self,
        voice: Voice,
        text: str,
        settings: Settings,
        cancel: threading.Event | None = None,
    ) -> Audio:
        """One text, whole (batched with others when batching is on and no seed is given).

        ``cancel``, once set, stops an unbatched synthesis between two passes through the
        graphs (``SynthesisCancelledError``), so its thread and slot are free again soon.
        """
        if self.batch_window > 0 and settings.config.seed is None:
            return await self._batched(voice, text, settings)
        kwargs = settings.kwargs()
        if cancel is not None:
            kwargs["cancel"] = cancel
        audio = await self.run(partial(voice.synthesize, text, **kwargs))
        self.metrics.observe_batch(1)
        return audio

    def stream(self, voice: Voice, text: str, settings: Settings) -> AudioStream:
        """``Voice.stream`` driven chunk by chunk through the pool."""
        return AudioStream(self, voice.stream(text, **settings.kwargs()))

    async def _batched(self, voice: Voice, text: str, settings: Settings) -> Audio:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Audio] = loop.create_future()
        key = (id(voice), settings)
        self._pending.setdefault(key, _Group(voice, settings, [])).items.append((text, future))
        if key not in self._flushers:
            self._flushers[key] = loop.create_task(self._flush(key))
        return await future

    async def _flush(self, key: tuple[int, Settings]) -> None:
        """Send the requests collected under ``key`` in batches, each as a slot frees up."""
        try:
            await asyncio.sleep(self.batch_window)
            while key in self._pending:
                await self._slots.acquire()
                group = self._pending.pop(key)
                items = [item for item in group.items if not item[1].done()]
                batch, rest = items[: self.max_batch], items[self.max_batch :]
                if rest:
                    self._pending[key] = _Group(group.voice, group.settings, rest)
                if not batch:
                    self._slots.release()
                    continue
                task = asyncio.get_running_loop().create_task(
                    self._run_batch(group.voice, group.settings, batch)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            self._flushers.pop(key, None)

    async def _run_batch(
        self, voice: Voice, settings: Settings, batch: list[tuple[str, asyncio.Future[Audio]]]
    ) -> None:
        """One batch under a slot already held; a failure falls back to one call per text, so
        one bad text does not fail the requests batched with it."""
        texts = [text for text, _ in batch]
        try:
            results = await asyncio.wrap_future(
                self._submit_held(partial(voice.synthesize_batch, texts, **settings.kwargs()))
            )
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            await asyncio.gather(*(self._one(voice, settings, item) for item in batch))
            return
        self.metrics.observe_batch(len(batch))
        for (_, future), audio in zip(batch, results, strict=True):
            _settle(future, audio)

    async def _one(
        self, voice: Voice, settings: Settings, item: tuple[str, asyncio.Future[Audio]]
    ) -> None:
        text, future = item
        if future.done():
            return
        try:
            audio = await self.run(partial(voice.synthesize, text, **settings.kwargs()))
        except Exception as exc:
            _settle(future, exc)
        else:
            self.metrics.observe_batch(1)
            _settle(future, audio)

    def close(self) -> None:
        """Stop: cancel what has not started (running calls finish in their threads)."""
        for task in [*self._flushers.values(), *self._tasks]:
            task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _settle(future: asyncio.Future[Audio], outcome: Audio | BaseException) -> None:
    if future.done():  # the request was cancelled (client gone)
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class AudioStream:
    """A ``Voice.stream`` iterator advanced one chunk per pool call.

    :meth:`close` stops it: the generator is closed at once, or, when a chunk is being made
    in a worker thread, as soon as that chunk is done; no later chunk is computed.
    """

    def __init__(self, engine: Engine, chunks: Iterator[Audio]):
        self._engine = engine
        self._chunks = chunks
        self._last: concurrent.futures.Future[Audio | None] | None = None
        self.closed = False

    async def next(self) -> Audio | None:
        """The next chunk, or None at the end (ValueError for bad text or settings)."""
        if self.closed:
            return None
        self._last = await self._engine.submit(partial(next, self._chunks, None))
        return await asyncio.wrap_future(self._last)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        close = getattr(self._chunks, "close", None)  # generators have it; plain iterators not
        if close is None:
            return
        if self._last is None:
            close()
        else:
            self._last.add_done_callback(lambda _: close())
