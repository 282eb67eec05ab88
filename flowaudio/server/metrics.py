"""Prometheus text-format metrics, written by hand (no prometheus_client dependency).

Exposed at ``GET /metrics``::

    flowaudio_http_requests_total{path,status}      counter, every HTTP request
    flowaudio_speech_request_duration_seconds       histogram, POST /v1/audio/speech (to the
                                                    last byte, streams included)
    flowaudio_audio_seconds_total                   counter, seconds of audio sent
    flowaudio_streams_cancelled_total               counter, streams the client left early
    flowaudio_batch_size                            histogram, requests per synthesis call
    flowaudio_queue_depth                           gauge, speech requests admitted and not done
    flowaudio_queue_capacity                        gauge, the bound past which requests get 503
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter

__all__ = ["Histogram", "Metrics"]

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32)


class Histogram:
    """Cumulative-bucket histogram as Prometheus expects (``le`` upper bounds, +Inf last)."""

    def __init__(self, buckets: tuple[float, ...]):
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value

    def lines(self, name: str) -> list[str]:
        out, running = [], 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts, strict=True):
            running += count
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            out.append(f'{name}_bucket{{le="{le}"}} {running}')
        out.append(f"{name}_sum {self.sum:.6f}")
        out.append(f"{name}_count {running}")
        return out


class Metrics:
    """The server's counters; safe to update from the event loop and worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.latency = Histogram(LATENCY_BUCKETS)
        self.batch_size = Histogram(BATCH_BUCKETS)
        self.audio_seconds = 0.0
        self.streams_cancelled = 0

    def observe_request(self, path: str, status: int, seconds: float, speech: bool) -> None:
        with self._lock:
            self.requests[(path, status)] += 1
            if speech:
                self.latency.observe(seconds)

    def add_audio(self, seconds: float) -> None:
        with self._lock:
            self.audio_seconds += seconds

    def observe_batch(self, size: int) -> None:
        with self._lock:
            self.batch_size.observe(size)

    def stream_cancelled(self) -> None:
        with self._lock:
            self.streams_cancelled += 1

    def render(self, queue_depth: int, queue_capacity: int) -> str:
        with self._lock:
            lines = [
                "# HELP flowaudio_http_requests_total HTTP requests by path and status code.",
                "# TYPE flowaudio_http_requests_total counter",
            ]
            for (path, status), count in sorted(self.requests.items()):
                lines.append(
                    f'flowaudio_http_requests_total{{path="{path}",status="{status}"}} {count}'
                )
            lines += [
                "# HELP flowaudio_speech_request_duration_seconds Time from request to last "
                "byte of POST /v1/audio/speech.",
                "# TYPE flowaudio_speech_request_duration_seconds histogram",
                *self.latency.lines("flowaudio_speech_request_duration_seconds"),
                "# HELP flowaudio_audio_seconds_total Seconds of audio sent to clients.",
                "# TYPE flowaudio_audio_seconds_total counter",
                f"flowaudio_audio_seconds_total {self.audio_seconds:.3f}",
                "# HELP flowaudio_streams_cancelled_total Streams whose client left early.",
                "# TYPE flowaudio_streams_cancelled_total counter",
                f"flowaudio_streams_cancelled_total {self.streams_cancelled}",
                "# HELP flowaudio_batch_size Speech requests per synthesis call.",
                "# TYPE flowaudio_batch_size histogram",
                *self.batch_size.lines("flowaudio_batch_size"),
            ]
        lines += [
            "# HELP flowaudio_queue_depth Speech requests admitted and not finished.",
            "# TYPE flowaudio_queue_depth gauge",
            f"flowaudio_queue_depth {queue_depth}",
            "# HELP flowaudio_queue_capacity Admitted requests past which the server answers 503.",
            "# TYPE flowaudio_queue_capacity gauge",
            f"flowaudio_queue_capacity {queue_capacity}",
        ]
        return "\n".join(lines) + "\n"
