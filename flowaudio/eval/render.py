"""Writing an :class:`~flowaudio.eval.report.EvaluationReport`: ``report.md`` (tables for people),
``report.json`` (every number and transcript) and ``plots/*.png``. Nothing here measures."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flowaudio.eval.dnsmos import DNSMOS_FIELDS
from flowaudio.eval.report import EvaluationReport, Grouped, SystemResult
from flowaudio.version import __version__

_DNSMOS_NAMES = {"p808": "P.808", "sig": "SIG", "bak": "BAK", "ovrl": "OVRL"}


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote."""

    markdown: Path
    json: Path
    plots: tuple[Path, ...]


def write_report(report: EvaluationReport, out_dir: str | Path) -> ReportFiles:
    """Write ``report.md``, ``report.json`` and ``plots/*.png`` into ``out_dir``."""
    from flowaudio.eval.plots import plot_mels

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hop_seconds = report.voice["hop_length"] / report.voice["sample_rate"]
    plots = [_quality_plot(report, out / "plots" / "quality_vs_evaluations.png")]
    for i, sample in enumerate(report.mel_samples, start=1):
        panels = [(f"synthesized, {report.default.label}", sample.synthesized)]
        if sample.reference is not None:
            panels.insert(0, ("reference", sample.reference))
        plots.append(
            plot_mels(
                out / "plots" / f"mel_{i}_{sample.speaker}.png",
                f"line {sample.line}, {sample.speaker}: {_shorten(sample.text, 90)}",
                panels,
                hop_seconds,
            )
        )
    data = report.to_dict()
    data["plots"] = [str(p.relative_to(out)) for p in plots]
    # A report may be committed (bench/results): no paths of the machine that measured.
    for section in ("voice", "test_set"):
        if data.get(section, {}).get("path"):
            data[section]["path"] = _portable(data[section]["path"])
    json_path = out / "report.json"
    # allow_nan=False: a NaN would be a bug upstream, and it is not valid JSON either.
    json_path.write_text(json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n")
    md_path = out / "report.md"
    md_path.write_text(render_markdown(report, [p.relative_to(out) for p in plots]))
    return ReportFiles(md_path, json_path, tuple(plots))


def _portable(path: str) -> str:
    """``path`` relative to the working directory when it lies below it, else its name."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return resolved.name


def _quality_plot(report: EvaluationReport, path: Path) -> Path:
    """WER per ASR and DNSMOS OVRL (overall) against velocity evaluations, a line per guidance
    scale; the references' (and copy synthesis') values dashed."""
    from flowaudio.eval.plots import QualityPanel, plot_quality_vs_evaluations

    guidances = sorted({s.guidance for s in report.settings})

    def panel(
        ylabel: str, value: Callable[[SystemResult], float | None], ymin: float | None = None
    ) -> QualityPanel:
        lines = {
            f"guidance {g:g}": [
                (s.evaluations, v, str(s.steps))
                for s, r in zip(report.settings, report.synthesized, strict=True)
                if s.guidance == g and (v := value(r)) is not None
            ]
            for g in guidances
        }
        levels = {
            r.name: v
            for r in (report.reference, report.copy_synthesis)
            if r is not None and (v := value(r)) is not None
        }
        return QualityPanel(ylabel, lines, levels, ymin)

    panels = [
        panel(f"WER (%), {asr}", lambda r, asr=asr: 100 * r.wer[asr].overall.wer, ymin=0.0)
        for asr in report.options.asr
    ]
    if report.options.dnsmos:
        panels.append(panel("DNSMOS OVRL", lambda r: r.dnsmos.overall.ovrl if r.dnsmos else None))
    return plot_quality_vs_evaluations(
        path, "Quality against network evaluations (points: ODE steps)", panels
    )


def _shorten(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _mark(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a"}[passed]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return [*lines, ""]


def _pick(g: Grouped | None, speaker: str | None):
    """A speaker's value, or the overall one for ``None``; None without the measure."""
    if g is None:
        return None
    return g.overall if speaker is None else g.speakers.get(speaker)


def _per_speaker(
    r: EvaluationReport,
    systems: list[SystemResult],
    cell: Callable[[SystemResult, str | None], str],
) -> list[str]:
    """A table: a row per speaker and one for all, a column per system."""
    rows = [[spk or "**all**"] + [cell(s, spk) for s in systems] for spk in [*r.speakers, None]]
    return _table(["speaker"] + [s.name for s in systems], rows)


def render_markdown(report: EvaluationReport, plots: list[Path]) -> str:
    """The human-readable report (the JSON holds the same numbers and every transcript)."""
    r = report
    v = r.voice
    d = r.default
    opts = r.options
    bars = opts.bars
    first_asr = opts.asr[0]
    synth = list(r.synthesized)
    copy = [r.copy_synthesis] if r.copy_synthesis else []
    md = [
        f"# Evaluation of voice `{v['name']}`",
        "",
        f"- voice: `{v['path']}` ({v['sample_rate']} Hz, vocoder {v['vocoder']}, default "
        f"{d.label}, solver {v['defaults']['solver']}, temperature "
        f"{v['defaults']['temperature']:g}); speakers: {', '.join(v['speakers'])}",
        f"- test set: `{r.test_set.path}`: {r.test_set.rows} rows evaluated, "
        f"{len(r.test_set.skipped)} skipped; speakers: {', '.join(r.speakers)}",
        f"- settings: {'; '.join(s.label for s in r.settings)}; seed {opts.seed} (+ row index)",
        f"- ASR: {'; '.join(r.asr_models.values())}; DNSMOS: {'yes' if opts.dnsmos else 'no'}; "
        f"onnxruntime threads: {opts.threads} ({os.cpu_count()} CPUs); "
        f"flowaudio {__version__}; {r.seconds:.0f} s",
    ]
    md += [f"- skipped {s.setting.label}: {s.reason}" for s in r.skipped_settings]
    md += ["", "## Quality against network evaluations (all speakers)", ""]
    header = ["system", "evaluations"] + [f"WER {a}" for a in opts.asr]
    if opts.dnsmos:
        header += ["P.808 (Δ ref)", "OVRL (Δ ref)"]
    header += ["MCD dB", "median RTF"]
    rows = []
    for s in r.systems:
        row = [s.name, str(s.setting.evaluations) if s.setting else "-"]
        row += [_pct(s.wer[a].overall.wer) for a in opts.asr]
        if opts.dnsmos:
            row += [_dnsmos_cell(s, None, f) for f in ("p808", "ovrl")]
        row += [
            "-" if s.mcd is None else f"{s.mcd.overall:.2f}",
            "-" if s.rtf is None else f"{s.rtf.median:.3f}",
        ]
        rows.append(row)
    md += _table(header, rows)
    md += [
        "Evaluations: velocity-network passes per clip (steps, twice with guidance). "
        "Copy synthesis: the references' own mels through the voice's vocoder.",
        "",
        "## Bars",
        "",
        f"Per speaker, with {first_asr}: WER at {d.label} at most "
        f"{100 * bars.default_steps_margin:g} points above the reference WER on the same "
        f"sentences; at 2 steps at most {100 * bars.two_steps_margin:g} points above; speaker "
        "similarity (at the default setting) to the own teacher higher than to every other "
        "teacher.",
        "",
    ]
    rows = []
    for spk in r.speakers:
        b = r.bars[spk]
        sim = b.similarity
        if sim.own is None:
            sim_cell = "n/a"
        elif sim.best_other is None:
            sim_cell = f"{sim.own:.3f} (no other teacher)"
        else:
            sim_cell = f"{sim.own:.3f} vs {sim.best_other:.3f} ({sim.best_other_speaker})"
        rows.append(
            [
                spk,
                f"{_pct(b.wer_default.wer)} vs {_pct(b.wer_default.reference_wer)}: "
                f"{_mark(b.wer_default.passed)}",
                f"{_pct(b.wer_two_steps.wer)} vs {_pct(b.wer_two_steps.reference_wer)}: "
                f"{_mark(b.wer_two_steps.passed)}",
                f"{sim_cell}: {_mark(sim.passed)}",
                f"**{_mark(b.passed)}**",
            ]
        )
    md += _table(
        [
            "speaker",
            f"WER {d.label} vs reference (bar +{100 * bars.default_steps_margin:g})",
            f"WER 2 steps vs reference (bar +{100 * bars.two_steps_margin:g})",
            "similarity own vs best other",
            "passed",
        ],
        rows,
    )
    md += [f"All speakers: **{_mark(r.passed)}**", ""]

    for asr in opts.asr:
        md += [f"## Intelligibility ({asr} WER)", ""]
        md += _per_speaker(r, list(r.systems), lambda s, spk, asr=asr: _wer_cell(s, asr, spk))
    md += [
        "Corpus-level WER (errors / reference words); reference text and transcripts are "
        "normalised the same way (numbers spelled out). Compare against the reference column, "
        "never against WERs from elsewhere.",
        "",
    ]
    if any(s.dnsmos is not None for s in r.systems):
        md += ["## DNSMOS", ""]
        rows = [
            [s.name, spk or "**all**"] + [_dnsmos_cell(s, spk, f) for f in DNSMOS_FIELDS]
            for s in r.systems
            for spk in [*r.speakers, None]
            if s.dnsmos is not None
        ]
        md += _table(["system", "speaker"] + [_DNSMOS_NAMES[f] for f in DNSMOS_FIELDS], rows)
        md += [
            "Mean DNSMOS per clip (speechmos' ONNX models at 16 kHz); in brackets the difference "
            "to the references of the same rows. An artifact alarm (buzz, noise, clicks), not "
            "a naturalness score.",
            "",
        ]
    if r.reference is not None:
        md += [f"## Mel-cepstral distortion (dB, DTW-aligned, c1..c{opts.mcd_order})", ""]
        md += _per_speaker(r, copy + synth, lambda s, spk: _num(_pick(s.mcd, spk), ".2f"))
        md += [
            "Mean over rows of the mean over the DTW path of 10·√2/ln 10 · ‖Δc‖, c = cosine "
            "transform (DCT-II / 2N) of the natural-log mel amplitude, c0 excluded "
            "(`flowaudio.eval.metrics`).",
            "",
            "## Pace",
            "",
        ]
        md += _per_speaker(r, synth, _pace_cell)
        md += [
            "Total duration of the synthesized clips / the references' (in brackets: speech "
            "span without leading and trailing silence, the same ratio). Above 1: slower.",
            "",
        ]
    similar = [s for s in copy + synth if s.similarity is not None]
    if similar:
        md += ["## Speaker similarity (resemblyzer cosine)", ""]
        for s in similar:
            m = s.similarity
            md += [f"{s.name} (rows: synthesized speaker, columns: teacher):", ""]
            md += _table(
                ["synthesized \\ teacher", *m.columns],
                [
                    [row] + [f"**{x:.3f}**" if x == vals.max() else f"{x:.3f}" for x in vals]
                    for row, vals in zip(m.rows, m.values, strict=True)
                ],
            )
    md += ["## Real-time factor", ""]
    md += _table(
        ["steps", "guidance", "evaluations", "median RTF", "mean RTF", "audio s", "wall s"],
        [
            [
                str(s.setting.steps),
                f"{s.setting.guidance:g}",
                str(s.setting.evaluations),
                f"{s.rtf.median:.3f}",
                f"{s.rtf.mean:.3f}",
                f"{s.rtf.audio_seconds:.1f}",
                f"{s.rtf.wall_seconds:.1f}",
            ]
            for s in synth
        ],
    )
    md += [
        f"Synthesis wall time / audio duration per sentence, onnxruntime with "
        f"{opts.threads} intra-op thread(s), after one warm-up per setting.",
        "",
        "## Plots",
        "",
    ]
    md += [f"![{p.stem}]({p.as_posix()})" for p in plots] + [""]
    if r.test_set.skipped:
        md += ["## Skipped rows", ""]
        md += [f"- `{p.source}`: {p.reason}" for p in r.test_set.skipped] + [""]
    md += ["## Transcripts (first 10 rows)", ""]
    header = ["line", "speaker", "text"]
    for asr in opts.asr:
        header += [f"reference heard ({asr})"] if r.reference else []
        header += [f"{d.label} heard ({asr})"]
    rows = []
    for row in r.rows[:10]:
        cells = [str(row.line), row.speaker, _shorten(row.text, 60)]
        for asr in opts.asr:
            if r.reference:
                cells.append(_shorten(row.clips["reference"].transcripts[asr], 60))
            cells.append(_shorten(row.clips[d.name].transcripts[asr], 60))
        rows.append(cells)
    md += _table(header, rows)
    return "\n".join(md)


def _num(x: float | None, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)


def _wer_cell(s: SystemResult, asr: str, speaker: str | None) -> str:
    g = s.wer[asr]
    return _pct((g.overall if speaker is None else g.groups[speaker]).wer)


def _dnsmos_cell(s: SystemResult, speaker: str | None, name: str) -> str:
    score = _pick(s.dnsmos, speaker)
    if score is None:
        return "n/a"
    delta = _pick(s.dnsmos_minus_reference, speaker)
    text = f"{getattr(score, name):.2f}"
    return text if delta is None else f"{text} ({getattr(delta, name):+.2f})"


def _pace_cell(s: SystemResult, speaker: str | None) -> str:
    p = _pick(s.pace, speaker)
    return "n/a" if p is None else f"{p.ratio:.2f} ({p.speech_ratio:.2f})"
