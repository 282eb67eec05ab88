"""Report figures with matplotlib, rendered by Agg through a bare ``Figure`` (no pyplot, so no
global backend state is touched and nothing needs a display)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def plot_wer_vs_steps(
    path: Path,
    steps: Sequence[int],
    wer: Mapping[str, Sequence[float]],
    reference_wer: Mapping[str, float],
) -> Path:
    """WER (percent) against ODE steps: a solid line per speaker, its reference WER dashed in
    the same colour."""
    fig = _figure(7, 4.5)
    ax = fig.subplots()
    colours = [f"C{i}" for i in range(10)]
    for k, (speaker, values) in enumerate(wer.items()):
        colour = colours[k % len(colours)]
        ax.plot(steps, [100 * v for v in values], marker="o", color=colour, label=f"{speaker}")
        if speaker in reference_wer:
            ax.axhline(
                100 * reference_wer[speaker],
                color=colour,
                linestyle="--",
                linewidth=1,
                label=f"{speaker} reference",
            )
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(steps), [str(s) for s in steps])
    ax.minorticks_off()
    ax.set_xlabel("ODE steps")
    ax.set_ylabel("WER (%), pocketsphinx")
    highest = max([100 * v for vals in wer.values() for v in vals] + [0.0])
    ax.set_ylim(0, max(10.0, 1.08 * highest))  # headroom: a line at 100 % stays visible
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncols=2)
    ax.set_title("Intelligibility against step count (dashed: reference audio)", fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
