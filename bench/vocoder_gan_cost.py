"""Seconds per step and peak memory of vocoder GAN training, per discriminator configuration.

One full training step as ``flowaudio train-vocoder`` takes it (discriminator step on real and
detached fake audio, then the generator step on mel L1 + multi-resolution STFT + adversarial +
feature matching, AdamW for both), on random waveform segments of the given shape: the cost
depends on shapes, not values. Each configuration runs in its own process so its peak RSS is
its own. Use it to pick segment length, batch and discriminator sizes for a CPU budget.

example:
  python bench/vocoder_gan_cost.py --threads 1
  python bench/vocoder_gan_cost.py --threads 1 --configs none mrd16 mpd16-mrd16 --batch 4 8
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

# name -> (mpd_periods, mpd_channels, mrd_channels)
CONFIGS: dict[str, tuple[tuple[int, ...], tuple[int, ...], int]] = {
    "none": ((), (), 0),  # reconstruction losses only (today's recipe)
    "mrd16": ((), (), 16),
    "mrd32": ((), (), 32),
    "mpd16": ((2, 3, 5, 7, 11), (16, 32, 64, 128), 0),
    "mpd32": ((2, 3, 5, 7, 11), (32, 64, 128, 256), 0),
    "mpd8-mrd16": ((2, 3, 5, 7, 11), (8, 16, 32, 64), 16),
    "mpd16-mrd16": ((2, 3, 5, 7, 11), (16, 32, 64, 128), 16),
    "mpd32-mrd32": ((2, 3, 5, 7, 11), (32, 64, 128, 256), 32),  # the `small` preset's
}


def _one(config: str, batch: int, frames: int, threads: int, runs: int) -> dict:
    import dataclasses

    import torch

    from flowaudio.audio.config import AudioConfig
    from flowaudio.models.config import VOCODER_PRESETS
    from flowaudio.models.vocoder import Vocoder
    from flowaudio.train.discriminators import VocoderDiscriminator
    from flowaudio.train.vocoder_losses import (
        SpectralLosses,
        discriminator_adversarial_loss,
        vocoder_losses,
    )

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    periods, channels, mrd = CONFIGS[config]
    cfg = dataclasses.replace(
        VOCODER_PRESETS["small"],
        mpd_periods=periods,
        mpd_channels=channels or (8,),
        mrd_channels=mrd,
    )
    audio_cfg = AudioConfig()
    gen = Vocoder(cfg, audio_cfg)
    use_gan = bool(periods) or mrd > 0
    disc = VocoderDiscriminator(cfg, audio_cfg) if use_gan else None
    spectral = SpectralLosses(audio_cfg)
    opt_g = torch.optim.AdamW(gen.parameters(), lr=1e-4)
    opt_d = torch.optim.AdamW(disc.parameters(), lr=1e-4) if disc is not None else None
    mel = torch.randn(batch, audio_cfg.n_mels, frames) - 5.0
    real = 0.1 * torch.randn(batch, frames * audio_cfg.hop_length)

    def step() -> None:
        fake = gen(mel)
        if disc is not None:
            out = disc(torch.cat([real, fake.detach()]))
            d_loss = discriminator_adversarial_loss(
                [x[:batch] for x in out.logits], [x[batch:] for x in out.logits]
            )
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            disc.requires_grad_(False)
        losses = vocoder_losses(real, fake, cfg, spectral, disc)
        opt_g.zero_grad()
        losses.total.backward()
        opt_g.step()
        if disc is not None:
            disc.requires_grad_(True)

    step()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return {
        "config": config,
        "mpd_periods": list(periods),
        "mpd_channels": list(channels),
        "mrd_channels": mrd,
        "discriminator_parameters": sum(p.numel() for p in disc.parameters()) if disc else 0,
        "batch": batch,
        "segment_frames": frames,
        "threads": threads,
        "seconds_per_step": round(statistics.median(times), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--batch", nargs="+", type=int, default=[4, 16], help="segments a step")
    parser.add_argument("--frames", type=int, default=32, help="mel frames per segment")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--runs", type=int, default=3, help="timed steps (median)")
    parser.add_argument("--out", default="bench/results/vocoder_gan_cost.json")
    parser.add_argument("--one", nargs=2, metavar=("CONFIG", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:  # the child process: one configuration, JSON on stdout
        row = _one(args.one[0], int(args.one[1]), args.frames, args.threads, args.runs)
        print(json.dumps(row))
        return 0

    rows = []
    for config in args.configs:
        for batch in args.batch:
            cmd = [sys.executable, __file__, "--one", config, str(batch)]
            cmd += ["--frames", str(args.frames), "--threads", str(args.threads)]
            cmd += ["--runs", str(args.runs)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{config:>12}  batch {batch:>2} x {args.frames} frames: "
                f"{row['seconds_per_step']:6.2f} s/step, peak RSS {row['peak_rss_mb']:6.0f} MB, "
                f"D {row['discriminator_parameters'] / 1e6:.2f}M",
                flush=True,
            )
    import torch

    # Rows of other configurations already in the file stay (one file, several invocations).
    key = ("config", "batch", "segment_frames", "threads")
    out_path = Path(args.out)
    if out_path.is_file():
        old = json.loads(out_path.read_text()).get("rows", [])
        seen = {tuple(r[k] for k in key) for r in rows}
        rows = [r for r in old if tuple(r[k] for k in key) not in seen] + rows
    result = {
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpu_count": len(__import__("os").sched_getaffinity(0)),
            "torch": torch.__version__,
        },
        "rows": rows,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
