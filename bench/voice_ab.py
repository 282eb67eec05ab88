"""RTF of two or more voices measured side by side: interleaved in one process, same texts.

The VM this project runs on drifts by ~30% between hours, so two voices timed minutes apart
can differ by more than the change under test. Here every round synthesizes each text once
with every voice, in turn, and the table is the median per voice and text: drift hits all
voices alike and the ratios hold. Texts: bench/runtime.py's short, medium and long.

example:
  python bench/voice_ab.py flowaudio/voices/default voices/int8 --out ab.json
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import host_info, script_parser, write_result
from runtime import TEXTS, recorded_path


def main() -> None:
    p = script_parser(__doc__)
    p.add_argument("voices", nargs="+", type=Path, help="voice directories (the first is the base)")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    p.add_argument("--rounds", type=int, default=10, help="timed rounds (after one warm-up)")
    p.add_argument("--steps", type=int, default=None, help="solver steps (default: each voice's)")
    p.add_argument("--out", type=Path, help="JSON result")
    args = p.parse_args()
    import flowaudio

    voices = {str(v): flowaudio.load_voice(v, threads=args.threads) for v in args.voices}
    rtf: dict[str, dict[str, list[float]]] = {v: {t: [] for t in TEXTS} for v in voices}
    for rnd in range(args.rounds + 1):
        for name, text in TEXTS.items():
            for key, voice in voices.items():
                start = time.perf_counter()
                audio = voice.synthesize(text, seed=0, steps=args.steps)
                if rnd:  # round 0 warms up
                    rtf[key][name].append((time.perf_counter() - start) / audio.duration)
    base = str(args.voices[0])
    table = []
    for key in voices:
        for name in TEXTS:
            median = statistics.median(rtf[key][name])
            ratio = median / statistics.median(rtf[base][name])
            table.append({"voice": recorded_path(Path(key)), "text": name, "rtf": median,
                          "vs_first": ratio})  # fmt: skip
            print(f"{recorded_path(Path(key)):40s} {name:7s} rtf={median:.4f} ({ratio:.2f}x)")
    result = {
        "host": host_info(args.threads),
        "rounds": args.rounds,
        "steps": args.steps,
        "table": table,
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
