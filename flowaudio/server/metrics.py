"""The server's Prometheus metrics (``prometheus_client``), exposed at ``GET /metrics``::

    flowaudio_http_requests_total{path,status}      counter, every HTTP request
    flowaudio_speech_request_duration_seconds       histogram, POST /v1/audio/speech (to the
                                                    last byte, streams included)
    flowaudio_audio_seconds_total                   counter, seconds of audio sent
    flowaudio_streams_cancelled_total               counter, streams the client left early
    flowaudio_batch_size                            histogram, requests per synthesis call
    flowaudio_queue_depth                           gauge, speech requests admitted and not done
    flowaudio_queue_capacity                        gauge, the bound past which requests get 503

and the client library's process_* (CPU, memory, file descriptors; Linux), python_gc_* and
python_info. Each :class:`Metrics` has its own registry, so several apps in one process (tests)
count apart.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder

__all__ = ["Metrics"]

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32)


class Metrics:
    """The server's counters; safe to update from the event loop and worker threads."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "flowaudio_http_requests_total",
            "HTTP requests by path and status code.",
            ["path", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "flowaudio_speech_request_duration_seconds",
            "Time from request to last byte of POST /v1/audio/speech.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.audio_seconds = Counter(
            "flowaudio_audio_seconds_total",
            "Seconds of audio sent to clients.",
            registry=self.registry,
        )
        self.streams_cancelled = Counter(
            "flowaudio_streams_cancelled_total",
            "Streams whose client left early.",
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "flowaudio_batch_size",
            "Speech requests per synthesis call.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "flowaudio_queue_depth",
            "Speech requests admitted and not finished.",
            registry=self.registry,
        )
        self.queue_capacity = Gauge(
            "flowaudio_queue_capacity",
            "Admitted requests past which the server answers 503.",
            registry=self.registry,
        )

    def watch_queue(self, depth: Callable[[], float], capacity: int) -> None:
        """Read the queue's depth at each scrape (``depth()``); its capacity is fixed."""
        self.queue_depth.set_function(depth)
        self.queue_capacity.set(capacity)

    def observe_request(self, path: str, status: int, seconds: float, speech: bool) -> None:
        self.requests.labels(path=path, status=str(status)).inc()
        if speech:
            self.latency.observe(seconds)

    def add_audio(self, seconds: float) -> None:
        self.audio_seconds.inc(seconds)

    def observe_batch(self, size: int) -> None:
        self.batch_size.observe(size)

    def stream_cancelled(self) -> None:
        self.streams_cancelled.inc()

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """(body, content type) for a scrape whose Accept header is ``accept``: Prometheus's
        text format, or OpenMetrics when the scraper asks for it."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
