"""Bounded load test of `flowaudio serve` on loopback.

Starts the server itself (a subprocess bound to 127.0.0.1 on a free port; nothing else is ever
contacted), warms it up, then sends --requests POST /v1/audio/speech requests with at most
--concurrency in flight, and stops. Texts cycle through a short, a medium, a long and a
two-sentence text, speakers through the voice's speakers. Reports, per server configuration:
  * latency p50/p95/p99 (request sent -> last byte), requests per second;
  * throughput in seconds of audio per wall-clock second;
  * errors (any status but 200, or a transport error; must be 0);
  * the server process's RSS (VmRSS from /proc/PID/status, sampled every 50 ms): after the
    warm-up, the peak overall, and the peaks in the first and the last quarter of the run, to
    show whether memory stays flat under load.
Several --batch-window-ms values run one server each (0 = no micro-batching), so the same run
compares batching on and off. Writes JSON (bench/results/server_load.json) and prints a table.

example:
  python bench/server_load.py --voice data/voice-small-bench
  python bench/server_load.py --voice voices/mine --requests 200 --concurrency 16 \\
      --batch-window-ms 0 5 --workers 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "A journey of a thousand miles begins with a single step, and every step after it "
    "is a little easier than the one before.",
    "It was a bright cold day in April, and the clocks were striking thirteen. Winston "
    "Smith, his chin nuzzled into his breast in an effort to escape the vile wind, slipped "
    "quickly through the glass doors of Victory Mansions.",
    "The morning was quiet. A light rain fell on the empty streets of the old town.",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler(threading.Thread):
    """(monotonic time, RSS in kB) of a process every ``period`` seconds until stopped."""

    def __init__(self, pid: int, period: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.samples: list[tuple[float, int]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            kb = _rss_kb(self.pid)
            if kb is not None:
                self.samples.append((time.monotonic(), kb))
            self._halt.wait(self.period)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _start_server(args: argparse.Namespace, voice: str | None, window: float) -> tuple:
    port = _free_port()
    command = [sys.executable, "-m", "flowaudio", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(args.workers)]
    command += ["--max-queue", str(args.max_queue), "--batch-window-ms", str(window)]
    if voice:
        command += ["--voice", voice]
    if args.threads:
        command += ["--threads", str(args.threads)]
    log = open(args.server_log, "a")  # noqa: SIM115 (closed in _stop_server)
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}; see {args.server_log}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url, log
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the server did not come up in 120 s; see {args.server_log}")
        time.sleep(0.2)


def _stop_server(proc: subprocess.Popen, log) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


async def _load(url: str, bodies: list[dict], concurrency: int) -> list[dict]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    results: list[dict] = []
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:

        async def one(body: dict) -> None:
            async with gate:
                start = time.monotonic()
                try:
                    response = await client.post("/v1/audio/speech", json=body)
                    status = response.status_code
                    audio_s = float(response.headers.get("x-audio-seconds", 0))
                    error = None if status == 200 and audio_s > 0 else response.text[:200]
                except httpx.HTTPError as exc:
                    status, audio_s, error = 0, 0.0, repr(exc)
                results.append(
                    {
                        "start": start,
                        "end": time.monotonic(),
                        "status": status,
                        "audio_s": audio_s,
                        "error": error,
                    }
                )

        await asyncio.gather(*(one(body) for body in bodies))
    return results


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _run(args: argparse.Namespace, voice: str | None, window: float, speakers: list) -> dict:
    proc, url, log = _start_server(args, voice, window)
    try:
        bodies = [
            {"input": TEXTS[i % len(TEXTS)], "voice": speakers[i % len(speakers)]}
            for i in range(args.requests)
        ]
        for body in bodies[: args.warmup]:
            httpx.post(f"{url}/v1/audio/speech", json=body, timeout=120).raise_for_status()
        after_warmup = _rss_kb(proc.pid) or 0
        sampler = RssSampler(proc.pid)
        sampler.start()
        t0 = time.monotonic()
        results = asyncio.run(_load(url, bodies, args.concurrency))
        t1 = time.monotonic()
        sampler.stop()
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
    finally:
        _stop_server(proc, log)

    wall = t1 - t0
    latencies = [r["end"] - r["start"] for r in results]
    errors = [r for r in results if r["error"] is not None]
    audio = sum(r["audio_s"] for r in results)
    quarter = wall / 4
    samples = sampler.samples
    first = [kb for t, kb in samples if t <= t0 + quarter] or [after_warmup]
    last = [kb for t, kb in samples if t >= t1 - quarter] or [after_warmup]
    batch_count = batch_sum = 0.0
    for line in metrics.splitlines():
        if line.startswith("flowaudio_batch_size_count "):
            batch_count = float(line.split()[1])
        elif line.startswith("flowaudio_batch_size_sum "):
            batch_sum = float(line.split()[1])
    return {
        "batch_window_ms": window,
        "workers": args.workers,
        "threads": args.threads,
        "requests": len(results),
        "concurrency": args.concurrency,
        "wall_s": wall,
        "latency_s": {
            "p50": _percentile(latencies, 0.50),
            "p95": _percentile(latencies, 0.95),
            "p99": _percentile(latencies, 0.99),
            "max": max(latencies),
        },
        "requests_per_s": len(results) / wall,
        "audio_seconds": audio,
        "throughput_audio_s_per_s": audio / wall,
        "errors": len(errors),
        "error_examples": [e["error"] for e in errors[:3]],
        "mean_batch_size": batch_sum / batch_count if batch_count else None,
        "rss_mb": {
            "after_warmup": after_warmup / 1024,
            "peak": max(kb for _, kb in samples) / 1024 if samples else None,
            "peak_first_quarter": max(first) / 1024,
            "peak_last_quarter": max(last) / 1024,
            "samples": len(samples),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--voice", default=None, help="voice directory (default: embedded)")
    parser.add_argument("--requests", type=int, default=200, help="requests per configuration")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--warmup", type=int, default=4, help="untimed requests first")
    parser.add_argument("--workers", type=int, default=1, help="server --workers")
    parser.add_argument("--threads", type=int, default=None, help="server --threads")
    parser.add_argument(
        "--max-queue", type=int, default=64, help="server --max-queue (>= concurrency: no 503)"
    )
    parser.add_argument(
        "--batch-window-ms",
        type=float,
        nargs="+",
        default=[0.0],
        help="one server per value (0: no micro-batching)",
    )
    parser.add_argument("--out", default="bench/results/server_load.json", help="JSON output")
    parser.add_argument(
        "--server-log", default="/tmp/flowaudio_server_load.log", help="server output"
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be >= 1")

    from flowaudio.runtime.contract import VoiceMeta
    from flowaudio.runtime.synthesizer import default_voice_dir

    voice_dir = Path(args.voice) if args.voice else default_voice_dir()
    if voice_dir is None:
        parser.error("no embedded default voice in this build: pass --voice DIR")
    meta = VoiceMeta.load(voice_dir)
    speakers = list(meta.speakers) or [None]
    result = {
        "voice": str(args.voice or "(embedded)"),
        "voice_name": meta.name,
        "cpu_count": os.cpu_count(),
        "load_average_1min_before": os.getloadavg()[0],
        "texts": list(TEXTS),
        "runs": [],
    }
    for window in args.batch_window_ms:
        run = _run(args, str(voice_dir), window, speakers)
        result["runs"].append(run)
        print(f"batch window {window:g} ms: done ({run['errors']} errors)", flush=True)
    result["load_average_1min_after"] = os.getloadavg()[0]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")

    print(
        f"\n{args.requests} requests, {args.concurrency} concurrent, voice {meta.name}, "
        f"{args.workers} worker(s), {os.cpu_count()} CPUs "
        f"(load average before: {result['load_average_1min_before']:.2f})"
    )
    print(
        "window ms | p50 s | p95 s | p99 s | req/s | audio s/s | batch | errors | "
        "RSS MB warm / peak / 1st q / last q"
    )
    for r in result["runs"]:
        lat, rss = r["latency_s"], r["rss_mb"]
        batch = f"{r['mean_batch_size']:.2f}" if r["mean_batch_size"] else "-"
        print(
            f"{r['batch_window_ms']:9g} | {lat['p50']:5.2f} | {lat['p95']:5.2f} | "
            f"{lat['p99']:5.2f} | {r['requests_per_s']:5.1f} | "
            f"{r['throughput_audio_s_per_s']:9.1f} | {batch:>5s} | {r['errors']:6d} | "
            f"{rss['after_warmup']:.0f} / {rss['peak']:.0f} / {rss['peak_first_quarter']:.0f} / "
            f"{rss['peak_last_quarter']:.0f}"
        )
    print(f"wrote {out}")
    return 1 if any(r["errors"] for r in result["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
