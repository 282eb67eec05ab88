"""Report figures with matplotlib, rendered by Agg through a bare ``Figure`` (no pyplot, so no
global backend state is touched and nothing needs a display)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - the eval extra is installed in dev
        raise RuntimeError("report plots need matplotlib: pip install 'flowaudio[eval]'") from exc
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def plot_mels(
    path: Path,
    title: str,
    panels: Sequence[tuple[str, np.ndarray]],
    hop_seconds: float,
) -> Path:
    """Log-mel spectrograms (C, T) stacked top to bottom on one colour scale, as a PNG."""
    if not panels:
        raise ValueError("plot_mels needs at least one spectrogram")
    lo = min(float(m.min()) for _, m in panels)
    hi = max(float(m.max()) for _, m in panels)
    longest = max(m.shape[1] for _, m in panels) * hop_seconds
    fig = _figure(10, 2.6 * len(panels) + 0.6)
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    image = None
    for ax, (label, mel) in zip(axes, panels, strict=True):
        image = ax.imshow(
            mel,
            origin="lower",
            aspect="auto",
            interpolation="nearest",
            vmin=lo,
            vmax=hi,
            extent=(0.0, mel.shape[1] * hop_seconds, 0, mel.shape[0]),
            cmap="magma",
        )
        ax.set_xlim(0.0, longest)
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_ylabel("mel band")
    axes[-1].set_xlabel("seconds")
    fig.colorbar(image, ax=list(axes), label="log amplitude")
    fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


@dataclass(frozen=True)
class QualityPanel:
    """One measure against network evaluations.

    Attributes:
        ylabel: the measure and its unit.
        lines: label -> points (evaluations, value, annotation), one line each.
        levels: label -> a value drawn as a horizontal dashed line (the references).
        ymin: the axis' lower end (None: matplotlib's choice).
    """

    ylabel: str
    lines: Mapping[str, Sequence[tuple[int, float, str]]]
    levels: Mapping[str, float]
    ymin: float | None = None


def plot_quality_vs_evaluations(path: Path, title: str, panels: Sequence[QualityPanel]) -> Path:
    """Panels side by side, x: velocity-network evaluations per clip (log 2), points annotated
    (step counts), a solid line per label and a dashed line per level."""
    if not panels:
        raise ValueError("plot_quality_vs_evaluations needs at least one panel")
    fig = _figure(4.6 * len(panels), 4.2)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=True):
        ticks: set[int] = set()
        for k, (label, points) in enumerate(panel.lines.items()):
            xs = [p[0] for p in points]
            ticks.update(xs)
            ax.plot(xs, [p[1] for p in points], marker="o", color=f"C{k % 10}", label=label)
            for x, y, note in points:
                ax.annotate(note, (x, y), textcoords="offset points", xytext=(3, 4), fontsize=7)
        for k, (label, value) in enumerate(panel.levels.items()):
            ax.axhline(value, color=f"C{(k + 5) % 10}", linestyle="--", linewidth=1, label=label)
        ax.set_xscale("log", base=2)
        if ticks:
            ax.set_xticks(sorted(ticks), [str(t) for t in sorted(ticks)])
        ax.minorticks_off()
        ax.set_xlabel("velocity evaluations per clip")
        ax.set_ylabel(panel.ylabel)
        if panel.ymin is not None:
            ax.set_ylim(bottom=panel.ymin)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
