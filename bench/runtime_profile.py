"""Where the runtime's time and memory go, for one sentence (the breakdown behind issue #8).

Time: the median over --runs syntheses of the encoder call, each velocity call, the vocoder
call and the host work around them (text frontend, durations, noise, the ODE arithmetic), read
with ``time.perf_counter`` around each graph call through a timing wrapper of the backend.
Memory: fresh processes report RSS and its high-water mark (VmRSS / VmHWM from
/proc/self/status) after the imports and then, in one, after each graph's session is created,
in the other after ``Voice.load`` and a first and a second synthesis. For an operator-level
view use onnxruntime's own profiler (``SessionOptions.enable_profiling``).

example:
  python bench/runtime_profile.py --voice voices/mine --threads 2 --steps 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

TEXT = (
    "A journey of a thousand miles begins with a single step, and every step after it is a "
    "little easier than the one before, or so the old people in the village would always say."
)


def memory_status() -> dict[str, float]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


class TimedBackend:
    """Delegates to a backend and records the seconds of every graph call."""

    def __init__(self, backend):
        self.backend = backend
        self.seconds: dict[str, list[float]] = defaultdict(list)

    def _timed(self, name, fn, *args):
        start = time.perf_counter()
        out = fn(*args)
        self.seconds[name].append(time.perf_counter() - start)
        return out

    def encode(self, *args):
        return self._timed("encoder", self.backend.encode, *args)

    def vocode(self, mel):
        return self._timed("vocoder", self.backend.vocode, mel)

    def velocity(self, *args):
        return self._timed("velocity", self.backend.velocity, *args)

    def bind_velocity(self, mu_frames, mel_mask, speaker_cond):
        run = self.backend.bind_velocity(mu_frames, mel_mask, speaker_cond)
        return lambda x, t, dt=None: self._timed("velocity", run, x, t, dt)

    def __getattr__(self, name):  # everything else (e.g. has_dt) is the backend's
        return getattr(self.backend, name)


def _memory_child(args: argparse.Namespace) -> dict:
    """RSS by stage in this (fresh) process: the graphs' sessions one by one, or the voice."""
    stages = {"python": memory_status()}
    from flowaudio.runtime import session, synthesizer

    stages["import flowaudio.runtime"] = memory_status()
    path = Path(args.voice)
    if args.memory_child == "sessions":
        kept = []  # alive until the end, as in a loaded voice
        for name in ("encoder.onnx", "velocity.onnx", "vocoder.onnx"):
            if (path / name).is_file():
                kept.append(session.make_session(path / name, ["CPUExecutionProvider"], 2))
                stages[f"+ session {name}"] = memory_status()
        return stages
    voice = synthesizer.Voice.load(path, threads=args.threads, providers="cpu")
    stages["Voice.load"] = memory_status()
    for i in (1, 2):
        voice.synthesize(args.text, seed=0, steps=args.steps)
        stages[f"synthesis {i}"] = memory_status()
    return stages


def _timing(args: argparse.Namespace) -> dict:
    from flowaudio.runtime.synthesizer import Voice

    loaded = Voice.load(args.voice, threads=args.threads, providers="cpu")
    timed = TimedBackend(loaded.backend)
    voice = Voice(loaded.meta, timed, loaded.path)
    voice.synthesize(args.text, seed=0, steps=args.steps)  # warm-up
    timed.seconds.clear()
    totals = []
    for _ in range(args.runs):
        start = time.perf_counter()
        audio = voice.synthesize(args.text, seed=0, steps=args.steps)
        totals.append(time.perf_counter() - start)
    per_run = {k: sum(v) / args.runs for k, v in timed.seconds.items()}
    total = statistics.median(totals)
    return {
        "audio_s": audio.duration,
        "total_s": total,
        "rtf": total / audio.duration,
        "encoder_s": statistics.median(timed.seconds["encoder"]),
        "velocity_call_s": statistics.median(timed.seconds["velocity"]),
        "velocity_calls": len(timed.seconds["velocity"]) // args.runs,
        "vocoder_s": statistics.median(timed.seconds["vocoder"]),
        "host_s": statistics.mean(totals) - sum(per_run.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--voice", required=True, help="voice directory")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    parser.add_argument("--steps", type=int, default=4, help="Euler steps")
    parser.add_argument("--runs", type=int, default=7, help="timed syntheses")
    parser.add_argument("--text", default=TEXT, help="the sentence (default: ~7 s of speech)")
    parser.add_argument("--memory-child", choices=["sessions", "voice"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(_memory_child(args)))
        return 0

    print("memory of fresh processes (MB):")
    for mode in ("sessions", "voice"):
        child = [sys.executable, __file__, "--memory-child", mode, "--voice", args.voice]
        child += ["--threads", str(args.threads), "--steps", str(args.steps), "--text", args.text]
        proc = subprocess.run(child, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"memory child failed: {proc.stderr[-2000:]}")
        for stage, m in json.loads(proc.stdout.strip().splitlines()[-1]).items():
            print(f"  {mode:8s} {stage:26s} RSS {m['VmRSS']:7.1f}   peak {m['VmHWM']:7.1f}")

    t = _timing(args)
    ms = {k: v * 1000 for k, v in t.items() if k.endswith("_s")}
    n = t["velocity_calls"]
    print(
        f"\ntime, {t['audio_s']:.2f} s of audio, {args.steps} steps, {args.threads} threads, "
        f"median of {args.runs}: total {ms['total_s']:.1f} ms (RTF {t['rtf']:.4f})\n"
        f"  encoder   {ms['encoder_s']:7.1f} ms\n"
        f"  velocity  {ms['velocity_call_s']:7.1f} ms x {n} = {ms['velocity_call_s'] * n:.1f} ms\n"
        f"  vocoder   {ms['vocoder_s']:7.1f} ms\n"
        f"  host      {ms['host_s']:7.1f} ms (frontend, durations, noise, ODE arithmetic)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
