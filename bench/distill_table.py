"""Quality against network evaluations: teacher and students side by side, from evaluate reports.

Each input is the ``report.json`` of one ``flowaudio evaluate`` run (a voice over a grid of
steps and guidance scales, on the same held-out test set). Every synthesized setting becomes one
row: velocity evaluations per clip, WER per recogniser (overall and the worst speaker's gap to
its reference recordings), DNSMOS P.808 and OVRL relative to the references, MCD-DTW, pace
(synthesized / reference duration, worst speaker) and speaker similarity (own teacher, lowest
speaker; and whether the own teacher is the most similar for every speaker). The reference and
copy-synthesis rows come from the first report.

example:
    flowaudio evaluate --voice flowaudio/voices/default --test-set corpus/heldout.csv \\
        --steps 1,2,4,8 --guidance 1,1.5 --out bench/results/distill/teacher
    flowaudio evaluate --voice voices/student --test-set corpus/heldout.csv --steps 1,2,4 \\
        --out bench/results/distill/student
    python bench/distill_table.py teacher=bench/results/distill/teacher/report.json \\
        student=bench/results/distill/student/report.json --out bench/results/distill
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _load(spec: str) -> tuple[str, dict[str, Any]]:
    label, sep, path = spec.partition("=")
    if not sep:
        label, path = Path(spec).parent.name, spec
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    if report.get("schema_version") != 2:
        raise SystemExit(f"{path}: an evaluate report of schema 2 is needed")
    return label, report


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _num(x: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if x is None else fmt.format(x)


def _row(label: str, system: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """One table row of a synthesized setting (or copy synthesis)."""
    row: dict[str, Any] = {"system": label, "name": system["name"]}
    setting = system.get("setting") or {}
    row["evaluations"] = setting.get("evaluations")
    for asr, wer in (system.get("wer") or {}).items():
        ref = (reference.get("wer") or {}).get(asr) or {}
        row[f"wer_{asr}"] = wer["overall"]["wer"]
        gaps = {
            spk: group["wer"] - ref["groups"][spk]["wer"]
            for spk, group in wer["groups"].items()
            if spk in ref.get("groups", {})
        }
        if gaps:
            worst = max(gaps, key=gaps.__getitem__)
            row[f"gap_{asr}"] = (worst, gaps[worst])
    delta = (system.get("dnsmos_minus_reference") or {}).get("overall") or {}
    row["p808"], row["ovrl"] = delta.get("p808"), delta.get("ovrl")
    row["mcd"] = (system.get("mcd") or {}).get("overall")
    pace = system.get("pace") or {}
    if pace:
        row["pace"] = pace["overall"]["ratio"]
        ratios = {spk: p["ratio"] for spk, p in pace["speakers"].items()}
        far = max(ratios, key=lambda s: abs(ratios[s] - 1.0))
        row["pace_worst"] = (far, ratios[far])
    sim = system.get("similarity")
    if sim:
        values = sim["values"]
        own = [values[i][sim["columns"].index(spk)] for i, spk in enumerate(sim["rows"])]
        row["similarity_min_own"] = min(own)
        row["similarity_own_best"] = all(
            max(range(len(r)), key=r.__getitem__) == sim["columns"].index(spk)
            for r, spk in zip(values, sim["rows"], strict=True)
        )
    row["rtf"] = (system.get("rtf") or {}).get("overall") if system.get("rtf") else None
    return row


def build_rows(reports: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    first = reports[0][1]
    rows = []
    if first.get("copy_synthesis"):
        rows.append(_row("copy synthesis", first["copy_synthesis"], first["reference"]))
    for label, report in reports:
        for system in report["synthesized"]:
            rows.append(_row(label, system, report["reference"]))
    return rows


def render(rows: list[dict[str, Any]], reference: dict[str, Any]) -> str:
    asrs = sorted({k[4:] for r in rows for k in r if k.startswith("wer_")})
    head = ["system", "setting", "NFE"]
    for asr in asrs:
        head += [f"WER {asr} %", f"worst gap {asr}"]
    head += ["dP.808", "dOVRL", "MCD dB", "pace", "worst pace", "sim own (min)", "own best"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["system"], r["name"], _num(r["evaluations"], "{}")]
        for asr in asrs:
            gap = r.get(f"gap_{asr}")
            cells += [
                _pct(r.get(f"wer_{asr}")),
                "-" if gap is None else f"{gap[0]} {100 * gap[1]:+.1f}",
            ]
        worst = r.get("pace_worst")
        cells += [
            _num(r["p808"], "{:+.2f}"),
            _num(r["ovrl"], "{:+.2f}"),
            _num(r["mcd"]),
            _num(r.get("pace")),
            "-" if worst is None else f"{worst[0]} {worst[1]:.2f}",
            _num(r.get("similarity_min_own"), "{:.3f}"),
            {True: "yes", False: "NO", None: "-"}[r.get("similarity_own_best")],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    ref_wer = ", ".join(
        f"{asr} {_pct(w['overall']['wer'])}%" for asr, w in (reference.get("wer") or {}).items()
    )
    dn = (reference.get("dnsmos") or {}).get("overall") or {}
    note = (
        f"\nReference recordings: WER {ref_wer}; DNSMOS P.808 {_num(dn.get('p808'))}, "
        f"OVRL {_num(dn.get('ovrl'))}. NFE: velocity-network evaluations per clip (steps x 2 "
        "with guidance). dP.808/dOVRL: DNSMOS minus the references'. Worst gap: the speaker "
        "whose WER is furthest above its reference recordings. Pace: synthesized / reference "
        "duration.\n"
    )
    return "\n".join(lines) + "\n" + note


def plot(rows: list[dict[str, Any]], out: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    systems = sorted({r["system"] for r in rows if r["evaluations"]})
    for system in systems:
        pts = sorted((r for r in rows if r["system"] == system and r["evaluations"]),
                     key=lambda r: r["evaluations"])  # fmt: skip
        x = [r["evaluations"] for r in pts]
        for key, style in (("wer_whisper", "-o"), ("wer_pocketsphinx", "--s")):
            if all(key in r for r in pts):
                axes[0].plot(x, [100 * r[key] for r in pts], style, label=f"{system} {key[4:]}")
        if all(r["ovrl"] is not None for r in pts):
            axes[1].plot(x, [r["ovrl"] for r in pts], "-o", label=system)
    axes[0].set(xscale="log", xlabel="velocity evaluations per clip", ylabel="WER %")
    axes[1].set(xscale="log", xlabel="velocity evaluations per clip", ylabel="DNSMOS OVRL - ref")
    ticks = sorted({r["evaluations"] for r in rows if r["evaluations"]})
    for ax in axes:
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "quality_vs_evaluations.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[2:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("reports", nargs="+", help="LABEL=report.json (teacher first)")
    parser.add_argument("--out", type=Path, default=None, help="write table.md, table.json, plot")
    args = parser.parse_args(argv)
    reports = [_load(spec) for spec in args.reports]
    rows = build_rows(reports)
    text = render(rows, reports[0][1]["reference"])
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "table.md").write_text(text, encoding="utf-8")
        (args.out / "table.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
        plot(rows, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
