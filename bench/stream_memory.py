"""Memory while streaming a long text: does a 10-minute input stay in bounded memory?

Streams --minutes of audio (bench/runtime.py's paragraphs and long text, repeated) through
``Voice.stream`` with the chunks thrown away as a player would consume them, and reads the
process's RSS and its high-water mark (VmRSS / VmHWM from /proc/self/status) after every
chunk. Reports the peak after the first minute of audio and after the whole text: bounded
memory means the two are the same (the frontend cuts sentences at 300 characters, so no single
pass through the graphs grows with the text).

example:
  python bench/stream_memory.py --minutes 10 --out bench/results/stream_memory.json
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import host_info, script_parser, write_result
from runtime import PARAGRAPH, PARAGRAPH_LONG_FIRST, TEXTS
from runtime_profile import memory_status


def main() -> None:
    p = script_parser(__doc__)
    p.add_argument("--voice", type=Path, default=None, help="voice directory (default: embedded)")
    p.add_argument("--minutes", type=float, default=10.0, help="audio to stream, in minutes")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    p.add_argument("--out", type=Path, help="JSON result")
    args = p.parse_args()
    if args.minutes <= 0:
        p.error("--minutes must be positive")

    from flowaudio.runtime.synthesizer import SynthesisConfig, Voice

    voice = Voice.load(args.voice, threads=args.threads)
    block = " ".join([PARAGRAPH, PARAGRAPH_LONG_FIRST, *TEXTS.values()])
    config = SynthesisConfig(seed=0)
    per_block = sum(c.duration for c in voice.stream(block, config=config))  # and warm-up
    repeats = max(1, round(args.minutes * 60 / per_block))
    text = " ".join([block] * repeats)
    after_load = memory_status()
    audio_s = 0.0
    first_minute: dict[str, float] | None = None
    trace = []
    start = time.perf_counter()
    for chunk in voice.stream(text, config=config):
        audio_s += chunk.duration
        status = memory_status()
        if first_minute is None and audio_s >= 60:
            first_minute = status
        trace.append((round(audio_s, 2), round(status["VmRSS"], 1)))
    wall = time.perf_counter() - start
    end = memory_status()
    result = {
        "host": host_info(args.threads),
        "voice": str(args.voice or "default"),
        "text_chars": len(text),
        "audio_s": round(audio_s, 2),
        "wall_s": round(wall, 2),
        "rtf": round(wall / audio_s, 5),
        "rss_mb_after_load_and_warmup": round(after_load["VmRSS"], 1),
        "peak_rss_mb_first_minute": round((first_minute or end)["VmHWM"], 1),
        "peak_rss_mb_whole_text": round(end["VmHWM"], 1),
        "rss_mb_at_end": round(end["VmRSS"], 1),
        "chunks": len(trace),
        "rss_trace_every_50th_chunk": trace[::50],
    }
    print(
        f"streamed {audio_s / 60:.1f} min of audio ({len(text)} characters) in {wall:.1f} s; "
        f"peak RSS {result['peak_rss_mb_first_minute']} MB after the first minute, "
        f"{result['peak_rss_mb_whole_text']} MB after the whole text "
        f"(RSS at the end {result['rss_mb_at_end']} MB)"
    )
    write_result(args.out, result)


if __name__ == "__main__":
    main()
