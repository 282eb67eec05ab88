"""Matcha-TTS peer for bench/run.py: LJSpeech architecture, random weights, Matcha's ONNX export.

Runs in the peer venv (bench/setup_peers.sh), never in flowaudio's. Speed depends on the
architecture and the output length, not on the weight values, so the model is Matcha's LJSpeech
configuration (configs/model/matcha.yaml with encoder/decoder/cfm default.yaml and
configs/data/ljspeech.yaml; the pip package does not ship configs/, so the values are written
out below) with seeded random weights, and HiFi-GAN V1 (matcha.hifigan.config.v1) likewise.

``export`` writes, through Matcha's own exporter (matcha.onnx.export: get_inputs,
get_exportable_module, MatchaWithVocoder; the ODE loop is unrolled, so one graph per step count):
  matcha_s{N}.onnx      text -> mel (acoustic model alone)
  matcha_e2e_s{N}.onnx  text -> wav (HiFi-GAN V1 embedded, Matcha's --vocoder-name variant)
  hifigan_v1.onnx       mel -> wav (the vocoder alone; Matcha has no exporter for it, so a plain
                        torch.onnx.export with the same opset)
  plan.json             the token input and the length_scale that pins the output to ~7 s
``time`` loads one graph in a fresh process and prints one JSON line (median of --runs).

Random duration predictors give arbitrary lengths, so the length is pinned: Matcha computes
frames = sum(ceil(exp(logw))) * length_scale, which is linear in length_scale; ``export`` reads
sum(ceil(exp(logw))) off the exported acoustic graph at length_scale 1 and sets length_scale to
hit --seconds. The actual seconds are recorded with every figure.

example:
  bench/.venv-peers/bin/python bench/peers/matcha_export.py export --out bench/peers-out/matcha
  bench/.venv-peers/bin/python bench/peers/matcha_export.py time --out bench/peers-out/matcha \\
      --part e2e --steps 4 --threads 2 --runs 7 --warmup 2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from _timing import TARGET_SECONDS, emit, read_plan, record, session, time_calls, versions

SAMPLE_RATE = 22050
HOP = 256
N_FEATS = 80
N_VOCAB = 178  # len(matcha.text.symbols.symbols): pad, punctuation, letters, IPA letters
N_TOKENS = 181  # ~90 phonemes of a 7 s LJSpeech sentence with blanks interspersed (add_blank)
TEMPERATURE = 0.667
MEL_MEAN, MEL_STD = -5.536622, 2.116101  # configs/data/ljspeech.yaml data_statistics
OPSET = 15  # matcha.onnx.export.DEFAULT_OPSET

# configs/model/matcha.yaml + encoder/decoder/cfm default.yaml, LJSpeech (1 speaker).
ENCODER = {
    "encoder_type": "RoPE Encoder",
    "encoder_params": {
        "n_feats": N_FEATS,
        "n_channels": 192,
        "filter_channels": 768,
        "filter_channels_dp": 256,
        "n_heads": 2,
        "n_layers": 6,
        "kernel_size": 3,
        "p_dropout": 0.1,
        "spk_emb_dim": 64,
        "n_spks": 1,
        "prenet": True,
    },
    "duration_predictor_params": {"filter_channels_dp": 256, "kernel_size": 3, "p_dropout": 0.1},
}
DECODER = {
    "channels": [256, 256],
    "dropout": 0.05,
    "attention_head_dim": 64,
    "n_blocks": 1,
    "num_mid_blocks": 2,
    "num_heads": 2,
    "act_fn": "snakebeta",
}
CFM = {"name": "CFM", "solver": "euler", "sigma_min": 1e-4}


def build_matcha(seed: int):
    """Matcha-TTS, LJSpeech configuration, random weights from ``seed`` (eval mode)."""
    import torch
    from matcha.models.matcha_tts import MatchaTTS
    from omegaconf import OmegaConf

    torch.manual_seed(seed)
    model = MatchaTTS(
        n_vocab=N_VOCAB,
        n_spks=1,
        spk_emb_dim=64,
        n_feats=N_FEATS,
        encoder=OmegaConf.create(ENCODER),
        decoder=OmegaConf.create(DECODER),
        cfm=OmegaConf.create(CFM),
        data_statistics={"mel_mean": MEL_MEAN, "mel_std": MEL_STD},
        out_size=None,
        prior_loss=True,
        use_precomputed_durations=False,
    )
    return model.eval()


def build_hifigan(seed: int):
    """HiFi-GAN V1 (matcha.hifigan.config.v1), random weights, weight norm removed as
    matcha.cli.load_hifigan does before inference."""
    import torch
    from matcha.hifigan.config import v1
    from matcha.hifigan.env import AttrDict
    from matcha.hifigan.models import Generator

    torch.manual_seed(seed)
    vocoder = Generator(AttrDict(v1)).eval()
    vocoder.remove_weight_norm()
    return vocoder


def tokens(seed: int) -> np.ndarray:
    """(1, N_TOKENS) int64 ids: random symbols with the blank (0) interspersed, as add_blank."""
    rng = np.random.default_rng(seed)
    ids = np.zeros(N_TOKENS, dtype=np.int64)
    ids[1::2] = rng.integers(1, N_VOCAB, size=len(ids[1::2]))
    return ids[None, :]


def _export_matcha(path: Path, steps: int, with_vocoder: bool, seed: int) -> None:
    """One graph through Matcha's exporter (the body of matcha.onnx.export.main, minus the
    checkpoint loading: the random model is passed in directly)."""
    from matcha.onnx.export import get_exportable_module, get_inputs

    # A fresh model per graph: the RoPE cache is built while tracing and kept on the module,
    # so a second trace of the same module would bake the first trace's length in.
    matcha = build_matcha(seed)
    vocoder = build_hifigan(seed + 1) if with_vocoder else None
    dummy_input, input_names = get_inputs(is_multi_speaker=False)
    model, output_names = get_exportable_module(matcha, vocoder, steps)
    out = output_names[0]
    dynamic_axes = {
        "x": {0: "batch_size", 1: "time"},
        "x_lengths": {0: "batch_size"},
        out: {0: "batch_size", 1 if with_vocoder else 2: "time"},
        output_names[1]: {0: "batch_size"},
    }
    model.to_onnx(
        str(path),
        dummy_input,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic_axes,
        opset_version=OPSET,
        export_params=True,
        do_constant_folding=True,
        # Matcha's exporter was written for the TorchScript tracer; torch >= 2.9 defaults to
        # the dynamo exporter, which fails on Matcha's duration-dependent lengths.
        dynamo=False,
    )


def _export_hifigan(path: Path, seed: int) -> None:
    import torch

    vocoder = build_hifigan(seed + 1)
    mel = torch.randn(1, N_FEATS, 100)
    torch.onnx.export(
        vocoder,
        (mel,),
        str(path),
        input_names=["mel"],
        output_names=["wav"],
        dynamic_axes={"mel": {0: "batch_size", 2: "time"}, "wav": {0: "batch_size", 2: "time"}},
        opset_version=OPSET,
        do_constant_folding=True,
        dynamo=False,
    )


def export(out_dir: Path, steps_list: list[int], seconds: float, seed: int) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    for steps in steps_list:
        print(f"exporting Matcha {steps} steps (acoustic, then with HiFi-GAN V1)", file=sys.stderr)
        _export_matcha(out_dir / f"matcha_s{steps}.onnx", steps, False, seed)
        _export_matcha(out_dir / f"matcha_e2e_s{steps}.onnx", steps, True, seed)
    print("exporting HiFi-GAN V1 alone", file=sys.stderr)
    _export_hifigan(out_dir / "hifigan_v1.onnx", seed)

    # Pin the length: frames = floor(sum(ceil(exp(logw))) * length_scale), durations do not
    # depend on the step count, so any acoustic graph tells sum(ceil(exp(logw))).
    x = tokens(seed)
    sess = session(out_dir / f"matcha_s{steps_list[0]}.onnx", threads=1)
    feed = _feed(x, 1.0)
    base_frames = int(sess.run(["mel_lengths"], feed)[0][0])
    target_frames = round(seconds * SAMPLE_RATE / HOP)
    length_scale = (target_frames + 0.5) / base_frames
    frames = int(sess.run(["mel_lengths"], _feed(x, length_scale))[0][0])
    plan = {
        "system": "matcha",
        "config": "LJSpeech (configs/model/matcha.yaml), HiFi-GAN V1, random weights",
        "seed": seed,
        "steps": steps_list,
        "tokens": x[0].tolist(),
        "temperature": TEMPERATURE,
        "length_scale": length_scale,
        "frames_at_length_scale_1": base_frames,
        "frames": frames,
        "audio_s": frames * HOP / SAMPLE_RATE,
        "sample_rate": SAMPLE_RATE,
        "opset": OPSET,
        "versions": versions("matcha-tts", "onnx"),
    }
    (out_dir / "plan.json").write_text(json.dumps(plan, indent=2) + "\n")
    return {k: v for k, v in plan.items() if k != "tokens"}


def _feed(x: np.ndarray, length_scale: float) -> dict[str, np.ndarray]:
    return {
        "x": x,
        "x_lengths": np.array([x.shape[1]], dtype=np.int64),
        "scales": np.array([TEMPERATURE, length_scale], dtype=np.float32),
    }


def time_part(out_dir: Path, part: str, steps: int, threads: int, runs: int, warmup: int) -> dict:
    plan = read_plan(out_dir)
    x = np.asarray([plan["tokens"]], dtype=np.int64)
    if part == "vocoder":
        path = out_dir / "hifigan_v1.onnx"
        sess = session(path, threads)
        rng = np.random.default_rng(plan["seed"])
        mel = (MEL_MEAN + MEL_STD * rng.standard_normal((1, N_FEATS, plan["frames"]))).astype(
            np.float32
        )
        feed = {"mel": mel}
        wav = sess.run(["wav"], feed)[0]
        audio_s = wav.shape[-1] / SAMPLE_RATE
        name = "wav"
    else:
        path = out_dir / (f"matcha_e2e_s{steps}.onnx" if part == "e2e" else f"matcha_s{steps}.onnx")
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: export with --steps including {steps}")
        sess = session(path, threads)
        feed = _feed(x, plan["length_scale"])
        name = "wav_lengths" if part == "e2e" else "mel_lengths"
        n = int(sess.run([name], feed)[0][0])
        audio_s = n / SAMPLE_RATE if part == "e2e" else n * HOP / SAMPLE_RATE
    timing = time_calls(lambda: sess.run(None, feed), warmup, runs)
    steps_out = None if part == "vocoder" else steps
    return record(
        "matcha", part, steps_out, threads, warmup, timing, audio_s, path, "matcha-tts", output=name
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="build the random-weight models and export the graphs")
    ex.add_argument("--out", type=Path, required=True, help="folder for the graphs and plan.json")
    ex.add_argument("--steps", default="2,4,10", help="ODE step counts, one graph each")
    ex.add_argument("--seconds", type=float, default=TARGET_SECONDS, help="pinned audio length")
    ex.add_argument("--seed", type=int, default=0, help="seed of the random weights and tokens")
    tm = sub.add_parser("time", help="time one exported graph in this (fresh) process")
    tm.add_argument("--out", type=Path, required=True, help="folder written by `export`")
    tm.add_argument("--part", choices=["e2e", "acoustic", "vocoder"], default="e2e")
    tm.add_argument("--steps", type=int, default=4, help="which step count's graph")
    tm.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    tm.add_argument("--runs", type=int, default=7, help="timed runs (the median is reported)")
    tm.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    args = parser.parse_args(argv)
    if args.command == "export":
        steps_list = [int(s) for s in args.steps.split(",")]
        emit(export(args.out, steps_list, args.seconds, args.seed))
    else:
        emit(time_part(args.out, args.part, args.steps, args.threads, args.runs, args.warmup))
    return 0


if __name__ == "__main__":
    sys.exit(main())
