"""Vocoder quality against GAN steps and CPU time: DNSMOS and PESQ of the checkpoints of runs.

For held-out sentences with recordings (a test set as `flowaudio evaluate` reads it), every
checkpoint of each vocoder run (and the voice's own vocoder, as step 0) vocodes

- copy synthesis: the recording's log-mel, scored with DNSMOS (P.808, SIG, BAK, OVRL) and
  wide-band PESQ against the recording (same length, sample-aligned);
- full synthesis: the voice's acoustic model's mel for the sentence at the voice's defaults
  (onnxruntime, fixed seed; the same mels for every checkpoint), scored with DNSMOS.

The recordings' own DNSMOS is the row to reach. Training CPU time per checkpoint comes from
the run's metrics.jsonl (steps / steps_per_s summed over its log intervals: one thread's time
when the run used one). Writes a JSON and a PNG with one line per run.

example:
  python bench/vocoder_curve.py work/runs/voc-gan-rec work/runs/voc-gan-am \\
      --test-set work/corpus/heldout.csv --per-speaker 5 --out bench/results/vocoder_gan/curve
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np


def _cpu_seconds(run: Path) -> dict[int, float]:
    """step -> training seconds up to it, from the run's metrics.jsonl."""
    out: dict[int, float] = {0: 0.0}
    path = run / "metrics.jsonl"
    if not path.is_file():
        return out
    last_step, total = 0, 0.0
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if row.get("split") != "train" or not row.get("steps_per_s"):
            continue
        step = int(row["step"])
        if step < last_step:  # a resumed run re-logs: keep the latest pass
            last_step = step
        total += (step - last_step) / float(row["steps_per_s"])
        last_step = step
        out[step] = total
    return out


def _at(seconds: dict[int, float], step: int) -> float | None:
    below = [s for s in seconds if s <= step]
    if not below:
        return None
    s = max(below)
    rate = None
    if s != step:  # extrapolate with the last interval's rate
        later = sorted(seconds)
        i = later.index(s)
        if i > 0:
            rate = (seconds[s] - seconds[later[i - 1]]) / max(1, s - later[i - 1])
    return seconds[s] + (rate or 0.0) * (step - s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("runs", nargs="+", help="vocoder run directories")
    parser.add_argument("--voice", default="default", help="acoustic model + step-0 vocoder")
    parser.add_argument("--test-set", required=True, help="CSV/TSV with audio_path, speaker, text")
    parser.add_argument("--per-speaker", type=int, default=5)
    parser.add_argument("--every", type=int, default=1, help="use every N-th checkpoint")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True, help="output prefix (.json and .png are added)")
    parser.add_argument(
        "--include",
        nargs="*",
        default=[],
        help="earlier results (.json of this script, same test set and clips) whose runs join "
        "this table and plot without being measured again",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    import torch
    from pesq import pesq

    from flowaudio.audio.config import AudioConfig
    from flowaudio.audio.io import load_audio
    from flowaudio.audio.mel import log_mel_spectrogram
    from flowaudio.config import from_dict
    from flowaudio.eval.dnsmos import DNSMOS_FIELDS, Dnsmos, DnsmosScore
    from flowaudio.eval.testset import load_test_set
    from flowaudio.export.voice import load_vocoder
    from flowaudio.runtime.synthesizer import Voice

    torch.set_num_threads(args.threads)
    from flowaudio.export.from_voice import resolve_voice_dir

    voice = Voice.load(resolve_voice_dir(args.voice), threads=args.threads)
    audio_cfg = from_dict(AudioConfig, dict(voice.meta.audio), where="audio")
    sr = audio_cfg.sample_rate
    test = load_test_set(args.test_set, per_speaker=args.per_speaker)

    # The acoustic model's mels, captured on their way to the vocoder.
    captured: list[np.ndarray] = []
    backend = voice.backend
    original = backend.vocode

    def capture(mel):
        captured.append(np.asarray(mel)[0].copy())
        return original(mel)

    backend.vocode = capture
    refs, ref_mels, full_mels = [], [], []
    for item in test.items:
        reference = load_audio(item.audio_path, sr)
        refs.append(reference)
        ref_mels.append(log_mel_spectrogram(reference, audio_cfg))
        captured.clear()
        voice.synthesize(item.text, speaker=item.speaker, seed=1234)
        full_mels.append(np.concatenate(captured, axis=-1))
    backend.vocode = original

    dnsmos = Dnsmos(threads=args.threads)

    def mean(scores: list[DnsmosScore]) -> dict[str, float]:
        m = DnsmosScore.mean(scores)
        return {f: round(getattr(m, f), 4) for f in DNSMOS_FIELDS}

    reference_row = mean([dnsmos.score(r, sr) for r in refs])

    def measure(model) -> dict:
        model = model.float().eval()
        copy_scores, pesqs, full_scores = [], [], []
        with torch.no_grad():
            for ref, mel, fmel in zip(refs, ref_mels, full_mels, strict=True):
                out = model(torch.from_numpy(mel[None].astype(np.float32)))[0].numpy()
                out = np.clip(np.nan_to_num(out[: len(ref)]), -1, 1)
                n = min(len(out), len(ref))
                copy_scores.append(dnsmos.score(out, sr))
                pesqs.append(pesq(sr, ref[:n].astype(np.float64), out[:n].astype(np.float64), "wb"))
                full = model(torch.from_numpy(fmel[None].astype(np.float32)))[0].numpy()
                full_scores.append(dnsmos.score(np.clip(np.nan_to_num(full), -1, 1), sr))
        return {
            "copy": mean(copy_scores),
            "pesq_wb": round(float(np.mean(pesqs)), 4),
            "full": mean(full_scores),
        }

    t0 = time.perf_counter()
    base = measure(load_vocoder(args.voice).model)
    runs = []
    for run in args.runs:
        run = Path(run)
        seconds = _cpu_seconds(run)
        ckpts = sorted((run / "checkpoints").glob("step_*.pt"))[:: args.every]
        points = [{"step": 0, "cpu_s": 0.0, **base}]
        for ckpt in ckpts:
            step = int(ckpt.stem.split("_")[1])
            row = {"step": step, "cpu_s": round(_at(seconds, step) or 0.0, 1)}
            row.update(measure(load_vocoder(ckpt).model))
            points.append(row)
            print(
                f"{run.name} step {step:>5} ({row['cpu_s'] / 60:5.1f} CPU min): copy P.808 "
                f"{row['copy']['p808']:.3f} OVRL {row['copy']['ovrl']:.3f} PESQ "
                f"{row['pesq_wb']:.3f} | full P.808 {row['full']['p808']:.3f} OVRL "
                f"{row['full']['ovrl']:.3f}",
                flush=True,
            )
        meta_path = run / "mels.json"
        record = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        mels, mel_settings = record.get("source"), record.get("settings")
        init = None
        if ckpts:
            from flowaudio.train.checkpoint import load_checkpoint

            init = load_checkpoint(ckpts[0]).get("metadata", {}).get("init")
        if init and init.get("source", "").startswith("run:"):
            # Started from another run's checkpoint: step 0 is that vocoder, not the voice's.
            name, step0 = init["source"][4:].split("@")[0], int(init.get("steps_trained") or 0)
            start = run.parent / name / "checkpoints" / f"step_{step0:08d}.pt"
            points = points[1:]
            if start.is_file():
                points.insert(0, {"step": 0, "cpu_s": 0.0, **measure(load_vocoder(start).model)})
        runs.append(
            {
                "run": run.name,
                "mels": mels or "recordings",
                "mel_settings": mel_settings,
                "init": init and {**init, "corpus": Path(str(init.get("corpus"))).name},
                "points": points,
            }
        )

    for earlier in args.include:
        old = json.loads(Path(earlier).read_text())
        if (old["test_set"], old["clips"]) != (Path(args.test_set).name, len(refs)):
            raise SystemExit(f"{earlier}: another test set or clip count; measure it again")
        runs = old["runs"] + runs
    result = {
        "voice": args.voice,
        "test_set": Path(args.test_set).name,
        "clips": len(refs),
        "per_speaker": args.per_speaker,
        "recordings": reference_row,
        "shipped": base,
        "runs": runs,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    _plot(result, out.with_suffix(".png"))
    print(f"recordings: P.808 {reference_row['p808']:.3f} OVRL {reference_row['ovrl']:.3f}")
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.png')}")
    return 0


def _plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("copy P.808", lambda p: p["copy"]["p808"], result["recordings"]["p808"]),
        ("copy OVRL", lambda p: p["copy"]["ovrl"], result["recordings"]["ovrl"]),
        ("copy PESQ (wb)", lambda p: p["pesq_wb"], None),
        ("full P.808", lambda p: p["full"]["p808"], result["recordings"]["p808"]),
        ("full OVRL", lambda p: p["full"]["ovrl"], result["recordings"]["ovrl"]),
    ]
    # A run started from another run's checkpoint continues that run's CPU time.
    by_name = {run["run"]: run for run in result["runs"]}

    def offset(run: dict) -> float:
        init = run.get("init") or {}
        source = init.get("source", "")
        parent = by_name.get(source[4:].split("@")[0]) if source.startswith("run:") else None
        if parent is None:
            return 0.0
        step = int(init.get("steps_trained") or 0)
        below = [p for p in parent["points"] if p["step"] <= step]
        return below[-1]["cpu_s"] + offset(parent) if below else 0.0

    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.4))
    for ax, (title, get, target) in zip(axes, panels, strict=True):
        for run in result["runs"]:
            xs = [(p["cpu_s"] + offset(run)) / 60 for p in run["points"]]
            ax.plot(xs, [get(p) for p in run["points"]], marker="o", label=run["run"])
        if target is not None:
            ax.axhline(target, color="k", linestyle="--", linewidth=1, label="recordings")
        ax.set_title(title)
        ax.set_xlabel("GAN training, CPU minutes (1 thread)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    sys.exit(main())
