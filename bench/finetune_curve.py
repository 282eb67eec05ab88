"""WER and speaker similarity of fine-tuned voices against minutes of audio and training time.

Reads the result folders that ``bench/finetune.sh`` runs were copied into
(``bench/results/finetune/add-<N>min-...``: the new speaker's and the old speakers' evaluation
reports, ``similarity.txt`` and ``time.txt``) and writes one JSON table and one plot.

example:
    python bench/finetune_curve.py --out bench/results/finetune/curve
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import re
from pathlib import Path

log = logging.getLogger("finetune_curve")

RESULTS = Path(__file__).resolve().parent / "results" / "finetune"

# (minutes of audio asked for, result folder, how it ran); LoRA rank 8, --mode add, each from
# the shipped default voice of its day.
RUNS = (
    (2, "add-2min-lora", "35 passes (200 steps), retention 4.0, int8 source; 2 threads, idle"),
    (3, "add-3min-retention", "200 steps, retention 1.0, fp16 source; 1 thread beside other jobs"),
    (5, "add-5min-lora", "45 passes (early stop 234), retention 1.0, fp16 source; 2 threads"),
    (
        10,
        "add-10min-lora-35passes",
        "35 passes (200 steps), retention 4.0, fp16 source; 2 threads, idle",
    ),
    (20, "add-20min-lora", "35 passes (407 steps), retention 4.0, int8 source; 2 threads, idle"),
)

_ROW = re.compile(r"^\| (reference|steps=1,guidance=1) \|(.*)$")


def _summary(report: Path) -> dict[str, dict[str, float]]:
    """The 'Quality against network evaluations' rows: WERs (%) and MCD of a report."""
    rows: dict[str, dict[str, float]] = {}
    for line in report.read_text().splitlines():
        match = _ROW.match(line)
        if not match or match.group(1) in rows:
            continue
        cells = [c.strip() for c in match.group(2).split("|")]
        # evaluations | pocketsphinx | whisper | P.808 | OVRL | MCD | RTF
        rows[match.group(1)] = {
            "wer_pocketsphinx": float(cells[1].rstrip("%")),
            "wer_whisper": float(cells[2].rstrip("%")),
            "p808": float(cells[3].split()[0]),
            **({"mcd_db": float(cells[5])} if cells[5] not in ("-", "") else {}),
        }
    if set(rows) != {"reference", "steps=1,guidance=1"}:
        raise ValueError(f"{report}: no reference and 1-step rows in its summary table")
    return rows


def _time(path: Path) -> dict[str, float]:
    text = path.read_text()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not wall or not rss:
        raise ValueError(f"{path}: not a /usr/bin/time -v record")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return {"wall_min": round(seconds / 60, 1), "peak_gb": round(int(rss.group(1)) / 1e6, 2)}


def collect(results: Path = RESULTS) -> list[dict]:
    """One row per run of ``RUNS`` found under ``results``."""
    rows = []
    for minutes, name, how in RUNS:
        folder = results / name
        if not folder.is_dir():
            log.warning("%s: missing, skipped", folder)
            continue
        new = _summary(folder / "new-speaker.md")
        old = _summary(folder / "old-speakers-after.md")
        sim = ast.literal_eval((folder / "similarity.txt").read_text().strip().splitlines()[0])
        base = {k: v for k, v in sim.items() if k != "teacher"}
        best = max(base, key=base.get)
        rows.append(
            {
                "minutes": minutes,
                "run": name,
                "how": how,
                **_time(folder / "time.txt"),
                "new_wer_whisper": new["steps=1,guidance=1"]["wer_whisper"],
                "new_wer_pocketsphinx": new["steps=1,guidance=1"]["wer_pocketsphinx"],
                "teacher_recordings_wer_whisper": new["reference"]["wer_whisper"],
                "teacher_recordings_wer_pocketsphinx": new["reference"]["wer_pocketsphinx"],
                "new_mcd_db": new["steps=1,guidance=1"].get("mcd_db"),
                "similarity_teacher": sim["teacher"],
                "similarity_best_base": base[best],
                "best_base_speaker": best,
                "old_wer_whisper": old["steps=1,guidance=1"]["wer_whisper"],
                "old_wer_pocketsphinx": old["steps=1,guidance=1"]["wer_pocketsphinx"],
            }
        )
    return rows


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [r["minutes"] for r in rows]
    fig, (ax_wer, ax_sim, ax_time) = plt.subplots(1, 3, figsize=(14, 4))
    for key, label in (
        ("new_wer_whisper", "new speaker, Whisper"),
        ("new_wer_pocketsphinx", "new speaker, pocketsphinx"),
        ("old_wer_whisper", "old speakers, Whisper"),
        ("old_wer_pocketsphinx", "old speakers, pocketsphinx"),
    ):
        ax_wer.plot(minutes, [r[key] for r in rows], marker="o", label=label)
    ax_wer.set(xlabel="minutes of audio", ylabel="WER % (1 step)", title="intelligibility")
    ax_wer.legend(fontsize=8)
    ax_sim.plot(
        minutes, [r["similarity_teacher"] for r in rows], marker="o", label="to its teacher"
    )
    ax_sim.plot(
        minutes,
        [r["similarity_best_base"] for r in rows],
        marker="o",
        label="to the closest base speaker",
    )
    ax_sim.set(
        xlabel="minutes of audio", ylabel="resemblyzer cosine", title="new speaker's similarity"
    )
    ax_sim.legend(fontsize=8)
    ax_time.plot(minutes, [r["wall_min"] for r in rows], marker="o")
    ax_time.set(
        xlabel="minutes of audio", ylabel="wall minutes", title="training time (2-core Xeon)"
    )
    for ax in (ax_wer, ax_sim, ax_time):
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(minutes, [str(m) for m in minutes])
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:\n  python bench/finetune_curve.py --out bench/results/finetune/curve",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="the result folders' parent")
    parser.add_argument("--out", type=Path, required=True, help="writes OUT.json and OUT.png")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    rows = collect(args.results)
    if not rows:
        raise SystemExit(f"no fine-tuning results under {args.results}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    plot(rows, args.out.with_suffix(".png"))
    for r in rows:
        log.info(
            "%2d min: %5.1f wall min, new Whisper %.1f%% / ps %.1f%%, similarity %.3f "
            "(best base %.3f), old Whisper %.1f%% / ps %.1f%%",
            r["minutes"],
            r["wall_min"],
            r["new_wer_whisper"],
            r["new_wer_pocketsphinx"],
            r["similarity_teacher"],
            r["similarity_best_base"],
            r["old_wer_whisper"],
            r["old_wer_pocketsphinx"],
        )


if __name__ == "__main__":
    main()
