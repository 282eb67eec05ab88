"""Acoustic-model training throughput in mel frames per second (CPU threads or a GPU).

Synthetic batches with the shapes of real ones (speed depends on shapes, not on values), so the
benchmark needs no corpus: B utterances of T frames and L = T / 2.5 tokens, a full optimiser
step each (forward, MAS, backward, AdamW). Median of --runs timed steps after warm-ups.

example:
  python bench/train_throughput.py --preset small --threads 2
  python bench/train_throughput.py --preset small --device cuda --batch 32
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", default="small", help="tiny, small or base")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--batch", type=int, default=8, help="utterances per batch")
    parser.add_argument("--frames", type=int, default=400, help="frames per utterance")
    parser.add_argument("--speakers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=7, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (GPU)")
    parser.add_argument("--out", default="bench/results/train_throughput.json")
    args = parser.parse_args(argv)

    import dataclasses

    from flowaudio.models.batch import TTSBatch
    from flowaudio.models.config import TTS_PRESETS
    from flowaudio.models.tts import FlowTTS
    from flowaudio.text.symbols import SymbolTable

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    cfg = TTS_PRESETS[args.preset]
    cfg = dataclasses.replace(
        cfg, speaker=dataclasses.replace(cfg.speaker, n_speakers=args.speakers)
    )
    model = FlowTTS(cfg, n_vocab=len(SymbolTable.load())).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    b, t = args.batch, args.frames
    n_tokens = int(t / 2.5)
    batch = TTSBatch(
        ids=torch.randint(4, 100, (b, n_tokens)),
        id_lengths=torch.full((b,), n_tokens),
        mels=torch.randn(b, cfg.n_mels, t) * 2 - 5,
        mel_lengths=torch.full((b,), t),
        speakers=torch.arange(b) % args.speakers,
    ).to(device)

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
            loss = model.loss(batch).total
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    result = {
        "preset": args.preset,
        "parameters": model.count_parameters(),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "cpu": platform.processor() or platform.machine(),
        "threads": args.threads,
        "batch": b,
        "frames_per_utterance": t,
        "bf16": args.bf16,
        "step_seconds_median": median,
        "mel_frames_per_second": b * t / median,
        "torch": torch.__version__,
    }
    print(json.dumps(result, indent=2))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(out.read_text()) if out.is_file() else []
    rows = [
        r
        for r in rows
        if (r["preset"], r["device"], r["threads"], r["batch"], r["bf16"])
        != (args.preset, result["device"], args.threads, b, args.bf16)
    ]
    out.write_text(json.dumps([*rows, result], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
