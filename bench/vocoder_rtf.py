"""Real-time factor of the vocoder under onnxruntime on CPU.

Builds a vocoder preset with random weights (speed depends on the architecture, not on the
values), exports it to ONNX in a temporary folder, and times ``session.run`` on a random log-mel
of ``--seconds`` seconds: 2 warm-up runs, then the median of ``--runs`` runs. RTF is that time
divided by the audio duration; x-real-time is its inverse. The result is printed and written as
JSON (default ``bench/results/vocoder_rtf.json``, one entry per preset, merged with what the
file already holds).

Example::

    .venv/bin/python bench/vocoder_rtf.py --preset small --threads 2 --seconds 10 --runs 7
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from flowaudio.audio.config import AUDIO_PRESETS
from flowaudio.export.vocoder import VOCODER_INPUT, export_vocoder_onnx
from flowaudio.models.config import VOCODER_PRESETS
from flowaudio.models.vocoder import Vocoder

ROOT = Path(__file__).resolve().parents[1]

WARMUP_RUNS = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: .venv/bin/python bench/vocoder_rtf.py --preset small --threads 2 "
        "--seconds 10 --runs 7",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", choices=sorted(VOCODER_PRESETS), default="small")
    parser.add_argument("--audio", choices=sorted(AUDIO_PRESETS), default="16k")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length (default 10)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs (default 7)")
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "bench" / "results" / "vocoder_rtf.json",
        help="JSON file to update (default bench/results/vocoder_rtf.json)",
    )
    args = parser.parse_args(argv)
    if args.threads < 1 or args.runs < 1 or args.seconds <= 0:
        parser.error("--threads and --runs must be >= 1 and --seconds > 0")
    return args


def measure(preset: str, audio_preset: str, threads: int, seconds: float, runs: int) -> dict:
    """Export the preset and time it; returns the JSON-ready record."""
    audio = AUDIO_PRESETS[audio_preset]
    torch.manual_seed(0)
    model = Vocoder(VOCODER_PRESETS[preset], audio).eval()
    frames = round(seconds * audio.sample_rate / audio.hop_length)
    mel = np.random.default_rng(0).normal(-4.0, 2.0, (1, audio.n_mels, frames))
    mel = mel.astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    with tempfile.TemporaryDirectory() as tmp:
        path = export_vocoder_onnx(model, Path(tmp) / "vocoder.onnx")
        onnx_bytes = path.stat().st_size
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    for _ in range(WARMUP_RUNS):
        session.run(None, {VOCODER_INPUT: mel})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {VOCODER_INPUT: mel})
        times.append(time.perf_counter() - start)
    duration = frames * audio.hop_length / audio.sample_rate
    median = statistics.median(times)
    return {
        "preset": preset,
        "audio": audio_preset,
        "params": model.num_parameters(),
        "onnx_bytes": onnx_bytes,
        "threads": threads,
        "seconds": duration,
        "runs": runs,
        "median_s": median,
        "min_s": min(times),
        "rtf": median / duration,
        "x_real_time": duration / median,
        "onnxruntime": ort.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        # other processes on the machine slow the timing down; this says how busy it was
        "load_average_1min": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    record = measure(args.preset, args.audio, args.threads, args.seconds, args.runs)
    print(
        f"{record['preset']} @ {record['audio']}: {record['params'] / 1e6:.2f}M params, "
        f"onnx {record['onnx_bytes'] / 1e6:.1f} MB, {record['threads']} threads: "
        f"median {1000 * record['median_s']:.1f} ms (min {1000 * record['min_s']:.1f} ms) for "
        f"{record['seconds']:.2f} s of audio, RTF {record['rtf']:.5f} "
        f"({record['x_real_time']:.0f}x real time; load average {record['load_average_1min']:.2f})"
    )
    results = {}
    if args.output.is_file():
        results = json.loads(args.output.read_text(encoding="utf-8"))
    key = f"{record['preset']}/{record['audio']}/threads={record['threads']}"
    results[key] = record
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
