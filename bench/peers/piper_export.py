"""Piper peer for bench/run.py: a `medium` VITS voice with random weights, Piper's own exporter.

Runs in the peer venv (bench/setup_peers.sh), never in flowaudio's. piper-tts ships its VITS
training code (piper.train); ``VitsModel``'s defaults are the `medium` quality (22.05 kHz,
resblock 2, upsample 8/8/4 from 256 channels, 192 hidden, 6 layers). ``export`` builds that model
with seeded random weights (speed depends on the architecture and the output length, not on the
weight values), saves it as the Lightning checkpoint piper's exporter expects, runs
``python -m piper.train.export_onnx`` on it, and pins the output length; ``time`` loads the graph
in a fresh process and prints one JSON line (median of --runs).

Random duration predictors give arbitrary lengths, so the length is pinned: the stochastic
duration predictor runs with noise_w = 0 (deterministic lengths; the same work as with noise),
and length_scale is set from its per-token durations (computed in torch, without the decoder)
so that VITS's sum(ceil(w * length_scale)) frames make --seconds of audio. The actual seconds,
read off the exported graph's output, are recorded with every figure.

example:
  bench/.venv-peers/bin/python bench/peers/piper_export.py export --out bench/peers-out/piper
  bench/.venv-peers/bin/python bench/peers/piper_export.py time --out bench/peers-out/piper \\
      --threads 2 --runs 7 --warmup 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from _timing import TARGET_SECONDS, emit, read_plan, record, session, time_calls, versions

SAMPLE_RATE = 22050
HOP = 256  # medium: upsample 8 * 8 * 4
N_SYMBOLS = 256  # piper's espeak phoneme-id map size (VitsModel default num_symbols)
# 75 phonemes (~11 a second over 7 s), each followed by the pad id, plus BOS/EOS. A random
# duration predictor gives every token one frame (its last layer starts at zero), so 151 tokens
# at 4 frames each make 604 frames = 7.01 s.
N_TOKENS = 151
GRAPH = "piper_medium.onnx"
NOISE_SCALE = 0.667
NOISE_W = 0.0  # see the module docstring: pins the duration predictor's output


def tokens(seed: int) -> np.ndarray:
    """(1, N_TOKENS) int64 ids laid out like piper's phoneme_ids: ^ (1), phoneme, _ (0), ...,
    $ (2)."""
    rng = np.random.default_rng(seed)
    ids = np.zeros(N_TOKENS, dtype=np.int64)
    ids[0], ids[-1] = 1, 2
    ids[1:-1:2] = rng.integers(3, N_SYMBOLS, size=len(ids[1:-1:2]))
    return ids[None, :]


def build_model(seed: int):
    """A `medium` VitsModel with random weights from ``seed`` (eval mode)."""
    import torch
    from piper.train.vits.lightning import VitsModel

    torch.manual_seed(seed)
    # mos_metric=None: the UTMOS validation metric would try to download weights.
    model = VitsModel(
        num_symbols=N_SYMBOLS, num_speakers=1, sample_rate=SAMPLE_RATE, mos_metric=None
    )
    return model.eval()


def save_checkpoint(model, path: Path) -> None:
    """``model`` in the Lightning checkpoint layout that ``VitsModel.load_from_checkpoint``
    (used by piper.train.export_onnx) reads."""
    import lightning
    import torch

    torch.save(
        {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "pytorch-lightning_version": lightning.__version__,
        },
        path,
    )


def token_durations(model, x: np.ndarray) -> np.ndarray:
    """exp(log w) per token: the first half of piper's ``SynthesizerTrn.infer`` (text encoder
    and stochastic duration predictor at noise_w), without the flow and the decoder."""
    import torch

    g = model.model_g
    with torch.no_grad():
        ids = torch.from_numpy(x)
        h, _, _, x_mask = g.enc_p(ids, torch.tensor([x.shape[1]]))
        logw = g.dp(h, x_mask, g=None, reverse=True, noise_scale=NOISE_W)
        return (torch.exp(logw) * x_mask)[0, 0].numpy()


def vits_frames(w: np.ndarray, length_scale: float) -> int:
    """VITS's frame count sum(ceil(w * length_scale)), in the graph's float32."""
    return int(np.ceil(w.astype(np.float32) * np.float32(length_scale)).sum())


def pin_length_scale(w: np.ndarray, target_frames: int) -> float:
    """A length_scale whose frame count is the closest reachable to ``target_frames``.

    Frames are non-decreasing in length_scale but move in steps (ceil per token; a random
    duration predictor can even give every token the same duration, so only multiples of the
    token count are reachable): bisect for the first step at or above the target, compare it
    with the step below, and return a length_scale inside the chosen step, away from its edges.
    """
    lo, hi = 0.0, 1.0
    while vits_frames(w, hi) < target_frames:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if vits_frames(w, mid) < target_frames else (lo, mid)
    above, below = vits_frames(w, hi * (1 + 1e-4)), vits_frames(w, lo)
    if target_frames - below < above - target_frames:
        # the step below: its upper edge is lo, pick a point just under it
        return lo * (1 - 1e-4)
    return hi * (1 + 1e-4)


def _feed(x: np.ndarray, length_scale: float) -> dict[str, np.ndarray]:
    return {
        "input": x,
        "input_lengths": np.array([x.shape[1]], dtype=np.int64),
        "scales": np.array([NOISE_SCALE, length_scale, NOISE_W], dtype=np.float32),
    }


def export(out_dir: Path, seconds: float, seed: int) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = out_dir / "piper_medium_random.ckpt"
    print("building a random-weight Piper medium checkpoint", file=sys.stderr)
    model = build_model(seed)
    save_checkpoint(model, ckpt)
    print("exporting with piper.train.export_onnx", file=sys.stderr)
    proc = subprocess.run(
        [sys.executable, __file__, "piper-exporter", str(ckpt), str(out_dir / GRAPH)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"piper.train.export_onnx failed:\n{proc.stderr[-3000:]}")
    ckpt.unlink()  # only the exporter needs it; the graph is what is timed
    return plan(out_dir, seconds, seed, model)


def plan(out_dir: Path, seconds: float, seed: int, model=None) -> dict:
    """Pin the exported graph's output to ~``seconds`` and write plan.json (``model``: the
    exported random model; rebuilt from ``seed`` when not given)."""
    model = build_model(seed) if model is None else model
    x = tokens(seed)
    length_scale = pin_length_scale(token_durations(model, x), round(seconds * SAMPLE_RATE / HOP))
    samples = session(out_dir / GRAPH, threads=1).run(None, _feed(x, length_scale))[0].shape[-1]
    info = {
        "system": "piper",
        "config": "medium (piper.train VitsModel defaults), random weights",
        "seed": seed,
        "tokens": x[0].tolist(),
        "noise_scale": NOISE_SCALE,
        "noise_w": NOISE_W,
        "length_scale": length_scale,
        "samples": samples,
        "audio_s": samples / SAMPLE_RATE,
        "sample_rate": SAMPLE_RATE,
        "versions": versions("piper-tts", "onnx", "lightning"),
    }
    (out_dir / "plan.json").write_text(json.dumps(info, indent=2) + "\n")
    return {k: v for k, v in info.items() if k != "tokens"}


def piper_exporter(ckpt: Path, onnx_path: Path) -> None:
    """``python -m piper.train.export_onnx --checkpoint CKPT --output-file ONNX``, run under the
    TorchScript exporter.

    piper's exporter calls ``torch.onnx.export`` without ``dynamo=``; torch >= 2.9 then takes
    the dynamo exporter, which fails on VITS's data-dependent lengths
    (GuardOnDataDependentSymNode in the stochastic duration predictor's spline). Its code is
    otherwise run unchanged, so only the default is switched, in this throw-away process.
    """
    import functools

    import torch
    from piper.train import export_onnx

    torch.onnx.export = functools.partial(torch.onnx.export, dynamo=False)
    sys.argv = ["export_onnx", "--checkpoint", str(ckpt), "--output-file", str(onnx_path)]
    export_onnx.main()


def time_graph(out_dir: Path, threads: int, runs: int, warmup: int) -> dict:
    plan = read_plan(out_dir)
    path = out_dir / GRAPH
    sess = session(path, threads)
    x = np.asarray([plan["tokens"]], dtype=np.int64)
    feed = _feed(x, plan["length_scale"])
    audio_s = sess.run(None, feed)[0].shape[-1] / SAMPLE_RATE
    timing = time_calls(lambda: sess.run(None, feed), warmup, runs)
    return record("piper", "e2e", None, threads, warmup, timing, audio_s, path, "piper-tts")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="build the random-weight voice and export it")
    ex.add_argument("--out", type=Path, required=True, help="folder for the graph and plan.json")
    ex.add_argument("--seconds", type=float, default=TARGET_SECONDS, help="pinned audio length")
    ex.add_argument("--seed", type=int, default=0, help="seed of the random weights and tokens")
    tm = sub.add_parser("time", help="time the exported graph in this (fresh) process")
    tm.add_argument("--out", type=Path, required=True, help="folder written by `export`")
    tm.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    tm.add_argument("--runs", type=int, default=7, help="timed runs (the median is reported)")
    tm.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    px = sub.add_parser(
        "piper-exporter", help="(used by export) piper's exporter on a checkpoint CKPT -> ONNX"
    )
    px.add_argument("ckpt", type=Path)
    px.add_argument("onnx", type=Path)
    pl = sub.add_parser("plan", help="pin the length again without exporting again")
    pl.add_argument("--out", type=Path, required=True, help="folder written by `export`")
    pl.add_argument("--seconds", type=float, default=TARGET_SECONDS, help="pinned audio length")
    pl.add_argument("--seed", type=int, default=0, help="the seed the export used")
    args = parser.parse_args(argv)
    if args.command == "plan":
        emit(plan(args.out, args.seconds, args.seed))
    elif args.command == "piper-exporter":
        piper_exporter(args.ckpt, args.onnx)
    elif args.command == "export":
        emit(export(args.out, args.seconds, args.seed))
    else:
        emit(time_graph(args.out, args.threads, args.runs, args.warmup))
    return 0


if __name__ == "__main__":
    sys.exit(main())
