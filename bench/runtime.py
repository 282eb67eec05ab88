"""Speed of flowaudio's torch-free runtime (onnxruntime on CPU threads).

Measures, each configuration in a fresh process (so caches and allocator state never carry
over), after warm-ups, the median of --runs runs:
  * RTF (synthesis seconds / audio seconds, vocoder included) at 1, 2, 4, 8 steps for a short,
    a medium and a long text;
  * time to first audio of a three-sentence paragraph with ``Voice.stream``;
  * batch-8 throughput (seconds of audio per second) with ``synthesize_batch``;
  * peak RSS of each process, and the voice's size on disk.
Writes JSON (bench/results/runtime.json by default) and prints a table.

example:
  python bench/runtime.py --voice voices/mine --threads 2
  python bench/runtime.py            # the embedded default voice
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TEXTS = {
    "short": "The quick brown fox jumps over the lazy dog.",
    "medium": (
        "A journey of a thousand miles begins with a single step, and every step after it "
        "is a little easier than the one before."
    ),
    "long": (
        "It was a bright cold day in April, and the clocks were striking thirteen. Winston "
        "Smith, his chin nuzzled into his breast in an effort to escape the vile wind, slipped "
        "quickly through the glass doors of Victory Mansions, though not quickly enough to "
        "prevent a swirl of gritty dust from entering along with him."
    ),
}
PARAGRAPH = (
    "The morning was quiet. A light rain fell on the empty streets of the old town. "
    "Somewhere a dog barked twice and then was still."
)
# A paragraph whose first sentence is long (45 words): the time to first audio of issue #15.
PARAGRAPH_LONG_FIRST = (
    "Winston Smith, his chin nuzzled into his breast in an effort to escape the vile wind, "
    "slipped quickly through the glass doors of Victory Mansions, though not quickly enough to "
    "prevent a swirl of gritty dust from entering along with him on that bright cold day in "
    "April. The hallway smelt of boiled cabbage and old rag mats."
)
STREAM_TEXTS = {"paragraph": PARAGRAPH, "long-first": PARAGRAPH_LONG_FIRST}


def recorded_path(path: Path) -> str:
    """A path as results record it: relative to the repository when inside it, else its name
    (results are committed: nothing of the machine that made them)."""
    path = Path(path).resolve()
    root = Path(__file__).resolve().parent.parent
    return str(path.relative_to(root)) if path.is_relative_to(root) else path.name


def _child(args: argparse.Namespace) -> dict:
    import flowaudio
    from flowaudio import SynthesisConfig

    voice = flowaudio.load_voice(args.voice, threads=args.threads)
    out: dict = {"kind": args.kind}
    if args.kind == "rtf":
        text = TEXTS[args.text]
        fn = lambda: voice.synthesize(text, steps=args.steps, seed=0)  # noqa: E731
    elif args.kind == "batch":
        texts = [TEXTS["medium"]] * 8
        fn = lambda: voice.synthesize_batch(texts, config=SynthesisConfig(steps=args.steps, seed=0))  # noqa: E731
    else:

        def fn():
            start = time.perf_counter()
            text = STREAM_TEXTS[args.text]
            it = voice.stream(text, config=SynthesisConfig(steps=args.steps, seed=0))
            first = next(it)
            ttfa = time.perf_counter() - start
            rest = list(it)
            return ttfa, [first, *rest]

    for _ in range(args.warmup):
        fn()
    times, audio_seconds, ttfas = [], 0.0, []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        if args.kind == "rtf":
            audio_seconds = result.duration
        elif args.kind == "batch":
            audio_seconds = sum(a.duration for a in result)
        else:
            ttfas.append(result[0])
            audio_seconds = sum(a.duration for a in result[1])
    median = statistics.median(times)
    out.update(median_s=median, audio_s=audio_seconds)
    if args.kind == "rtf":
        out["rtf"] = median / audio_seconds
    elif args.kind == "batch":
        out["audio_s_per_s"] = audio_seconds / median
    else:
        out["ttfa_s"] = statistics.median(ttfas)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _run_child(base: list[str], extra: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *base, *extra], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(
    voice_dir: Path,
    threads: int = 2,
    runs: int = 7,
    warmup: int = 2,
    steps_list: tuple[int, ...] = (1, 2, 4, 8),
) -> dict:
    """Every configuration of the module docstring, each in a fresh process; the result dict
    that ``main`` writes as JSON (also used by bench/run.py)."""
    from flowaudio.runtime.contract import VoiceMeta

    meta = VoiceMeta.load(voice_dir)
    base = [
        "--voice",
        str(voice_dir),
        "--threads",
        str(threads),
        "--runs",
        str(runs),
        "--warmup",
        str(warmup),
    ]
    rows = []
    for steps in steps_list:
        for text in TEXTS:
            r = _run_child(base, ["--kind", "rtf", "--text", text, "--steps", str(steps)])
            rows.append({"steps": steps, "text": text, **r})
            print(
                f"rtf  steps={steps} {text:6s} audio={r['audio_s']:.2f}s "
                f"rtf={r['rtf']:.4f} rss={r['peak_rss_mb']:.0f}MB",
                flush=True,
            )
    # Time to first audio at the voice's own default steps, for both paragraphs.
    default_steps = str(meta.defaults.steps)
    streams = {}
    for name in STREAM_TEXTS:
        streams[name] = _run_child(
            base, ["--kind", "stream", "--text", name, "--steps", default_steps]
        )
        print(
            f"stream {name}: ttfa={streams[name]['ttfa_s'] * 1000:.0f} ms "
            f"({streams[name]['audio_s']:.1f} s, {default_steps} steps, "
            f"rss={streams[name]['peak_rss_mb']:.0f}MB)",
            flush=True,
        )
    stream = {
        **streams["paragraph"],
        "steps": meta.defaults.steps,
        "long_first": streams["long-first"],
    }
    batch = _run_child(base, ["--kind", "batch", "--steps", "4"])
    print(f"batch-8 {batch['audio_s_per_s']:.1f} s of audio per second")
    size = sum(p.stat().st_size for p in voice_dir.iterdir() if p.is_file())
    return {
        "voice": recorded_path(voice_dir),
        "voice_name": meta.name,
        "voice_size_mb": size / 1e6,
        "threads": threads,
        "runs": runs,
        "warmup": warmup,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "rtf": rows,
        "stream": stream,
        "batch8": batch,
        "peak_rss_mb": max(
            [r["peak_rss_mb"] for r in rows] + [stream["peak_rss_mb"], batch["peak_rss_mb"]]
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--voice", default=None, help="voice directory (default: embedded)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per configuration")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--steps-list", default="1,2,4,8", help="step counts for the RTF table")
    parser.add_argument("--out", default="bench/results/runtime.json", help="JSON output")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="rtf", help=argparse.SUPPRESS)
    parser.add_argument("--text", default="short", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args)))
        return 0

    from flowaudio.runtime.synthesizer import default_voice_dir

    voice_dir = Path(args.voice) if args.voice else default_voice_dir()
    if voice_dir is None:
        parser.error("no embedded default voice in this build: pass --voice DIR")
    steps_list = tuple(int(s) for s in args.steps_list.split(","))
    result = measure(voice_dir, args.threads, args.runs, args.warmup, steps_list)
    rows = result["rtf"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\nRTF (lower is better), vocoder included, {args.threads} threads, median of {args.runs}:"
    )
    print("steps | " + " | ".join(f"{t:>7s}" for t in TEXTS))
    for steps in steps_list:
        cells = [
            next(r for r in rows if r["steps"] == steps and r["text"] == t)["rtf"] for t in TEXTS
        ]
        print(f"{steps:5d} | " + " | ".join(f"{c:7.4f}" for c in cells))
    print(
        f"peak RSS {result['peak_rss_mb']:.0f} MB, voice {result['voice_size_mb']:.1f} MB; "
        f"wrote {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
