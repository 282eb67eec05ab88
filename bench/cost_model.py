"""A cost model of the runtime: work per graph per second of audio against what these cores do.

For one sentence (the ~9 s paragraph of bench/runtime_profile.py) through a voice:
  * FLOPs of each graph, counted on the voice's torch twin (``flowaudio.export.from_voice``)
    with ``torch.utils.flop_counter.FlopCounterMode`` (matmul, conv, attention; element-wise
    work is not counted, so the counts are a floor), plus the host ISTFT (irfft: ~2.5 N log2 N
    per frame) when the voice has it;
  * bytes: the weights each call reads (float32 at run time, whatever the file stores) and the
    largest activation it writes;
  * time: each onnxruntime session alone, median of --runs, at 1 and 2 threads;
  * the limit: numpy float32 matmul (BLAS, 1024^3) on the same threads, the best dense rate this
    machine reaches from Python, and the processor's nominal peak when /proc/cpuinfo names
    AVX-512 or AVX2 (cores x GHz x 32 or 16 FLOP per cycle).
Writes JSON (--out) and prints a table: GFLOP per second of audio, ms per second of audio,
achieved GFLOP/s and its share of the matmul rate. A graph far below the matmul rate is bound by
something else than arithmetic (small GEMMs, memory traffic, op dispatch): that is where a
rewrite pays; one near it only gets faster with less work (fewer FLOPs, int8).

example:
  python bench/cost_model.py                          # the default voice
  python bench/cost_model.py --voice voices/mine --runs 20 --out bench/results/cost_model.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from run import script_parser  # noqa: E402
from runtime_profile import TEXT  # noqa: E402  (the same sentence as the time profile)


def _median_seconds(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(threads: int, runs: int) -> float:
    """float32 1024^3 matmul rate of numpy's BLAS on ``threads`` threads (in this process the
    BLAS thread count is fixed at import, so the caller runs this in a fresh process)."""
    a = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
    seconds = _median_seconds(lambda: a @ a, runs)
    return 2 * 1024**3 / seconds / 1e9


def nominal_peak_gflops(cores: int) -> float | None:
    """cores x GHz x FLOP per cycle (2 FMA units: 32 with AVX-512, 16 with AVX2), if known."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags = re.search(r"^flags\s*:(.*)$", info, re.M)
    ghz = re.search(r"@\s*([\d.]+)GHz", info)
    if not flags or not ghz:
        return None
    per_cycle = 32 if "avx512f" in flags.group(1).split() else 16
    return cores * float(ghz.group(1)) * per_cycle


def _flops(fn) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def measure(voice: str, runs: int) -> dict:
    import torch

    from flowaudio.export.from_voice import load_voice_models
    from flowaudio.models.tts import expand_prior
    from flowaudio.runtime.contract import frames_per_token
    from flowaudio.runtime.synthesizer import Voice

    torch.set_num_threads(1)
    models = load_voice_models(voice)
    model, vocoder, meta = models.acoustic, models.vocoder, models.meta
    rt = Voice.load(models.voice_dir, threads=1)
    tokens = rt.frontend.encode(TEXT).ids
    ids = torch.tensor([tokens], dtype=torch.int64)
    lengths = torch.tensor([len(tokens)])
    speakers = torch.tensor([0])
    enc = model.encode(ids, lengths, speakers)
    d = frames_per_token(enc.log_durations[:, 0].detach(), enc.id_mask[:, 0], torch).long()
    frames = int(d.sum())
    mu_frames, mel_mask = expand_prior(enc.mu.detach(), d, frames)
    x = torch.randn(1, model.n_mels, frames)
    t = torch.zeros(1)
    dt = torch.ones(1) if model.config.decoder.dt_input else None
    seconds_audio = frames * meta.audio["hop_length"] / meta.audio["sample_rate"]

    graphs: dict[str, dict] = {}
    graphs["encoder"] = {"flops": _flops(lambda: model.encode(ids, lengths, speakers))}
    graphs["velocity"] = {
        "flops": _flops(lambda: model.decoder(x, t, mu_frames, mel_mask, enc.speaker.detach(), dt))
    }
    if vocoder is not None:
        mel = torch.randn(1, model.n_mels, frames)
        graphs["vocoder"] = {"flops": _flops(lambda: vocoder.spectrum(mel))}
        n_fft = meta.audio["n_fft"]
        graphs["host istft"] = {"flops": int(frames * 2.5 * n_fft * math.log2(n_fft))}
    params = {
        "encoder": sum(
            p.numel() for n, p in model.named_parameters() if not n.startswith("decoder.")
        ),
        "velocity": sum(p.numel() for p in model.decoder.parameters()),
        "vocoder": sum(p.numel() for p in vocoder.parameters()) if vocoder is not None else 0,
        "host istft": 0,
    }
    for name, g in graphs.items():
        g["weight_bytes"] = 4 * params[name]
        g["gflop_per_audio_s"] = g["flops"] / 1e9 / seconds_audio

    # onnxruntime time of each graph alone, on real inputs of this sentence
    enc_args = (np.asarray([tokens], np.int64), np.asarray([len(tokens)], np.int64))
    out = {}
    for threads in (1, 2):
        rt_t = Voice.load(models.voice_dir, threads=threads)
        b = rt_t.backend
        mu_np = mu_frames.numpy().astype(np.float32)
        mask_np = mel_mask.numpy().astype(np.float32)
        spk_np = enc.speaker.detach().numpy().astype(np.float32)
        x_np = x.numpy()
        t_np = np.zeros(1, np.float32)
        dt_np = np.ones(1, np.float32) if dt is not None else None
        bound = b.bind_velocity(mu_np, mask_np, spk_np)
        timings = {
            "encoder": _median_seconds(
                lambda b=b: b.encode(
                    *enc_args, np.ones(1, np.float32), np.zeros(1, np.int64), None
                ),
                runs,
            ),
            "velocity": _median_seconds(lambda f=bound, a=(x_np, t_np, dt_np): f(*a), runs),
        }
        if vocoder is not None:
            mel_np = np.random.default_rng(0).standard_normal(x_np.shape).astype(np.float32)
            timings["vocoder"] = _median_seconds(lambda b=b, m=mel_np: b.vocode(m), runs)
        out[threads] = timings
    return {
        "voice": str(meta.name),
        "sentence_tokens": len(tokens),
        "frames": frames,
        "audio_seconds": seconds_audio,
        "graphs": graphs,
        "onnxruntime_seconds": out,
    }


def main(argv: list[str] | None = None) -> int:
    parser = script_parser(__doc__)
    parser.add_argument("--voice", default="default", help="voice directory or 'default'")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per measurement")
    parser.add_argument("--out", help="JSON file to write")
    parser.add_argument("--matmul-threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.matmul_threads:  # child: BLAS threads are fixed when numpy loads
        print(json.dumps(matmul_gflops(args.matmul_threads, args.runs)))
        return 0

    import subprocess

    limits = {}
    for threads in (1, 2):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
        child = subprocess.run(
            [sys.executable, __file__, "--matmul-threads", str(threads), "--runs", str(args.runs)],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        limits[threads] = float(child.stdout.strip().splitlines()[-1])
    result = measure(args.voice, args.runs)
    result["matmul_gflops"] = limits
    result["nominal_peak_gflops"] = {t: nominal_peak_gflops(t) for t in (1, 2)}
    result["load_average_1min"] = os.getloadavg()[0]

    audio = result["audio_seconds"]
    print(
        f"voice {result['voice']}: {result['sentence_tokens']} tokens, {result['frames']} frames "
        f"= {audio:.2f} s of audio; numpy matmul {limits[1]:.0f} / {limits[2]:.0f} GFLOP/s on "
        f"1 / 2 threads; nominal peak {result['nominal_peak_gflops'][2]} GFLOP/s on 2 cores; "
        f"load {result['load_average_1min']:.2f}"
    )
    print(
        f"{'graph':<11} {'GFLOP/s audio':>13} {'weights MB':>10} "
        f"{'ms/s audio 1t':>13} {'GFLOP/s 1t':>10} {'of matmul':>9} "
        f"{'ms/s audio 2t':>13} {'GFLOP/s 2t':>10} {'of matmul':>9}"
    )
    for name, g in result["graphs"].items():
        row = f"{name:<11} {g['gflop_per_audio_s']:>13.3f} {g['weight_bytes'] / 1e6:>10.1f}"
        for threads in (1, 2):
            seconds = result["onnxruntime_seconds"][threads].get(name)
            if seconds is None:
                row += f" {'-':>13} {'-':>10} {'-':>9}"
                continue
            achieved = g["flops"] / seconds / 1e9
            g[f"achieved_gflops_{threads}t"] = achieved
            row += (
                f" {1000 * seconds / audio:>13.1f} {achieved:>10.1f}"
                f" {achieved / limits[threads]:>9.0%}"
            )
        print(row)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
