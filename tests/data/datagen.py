"""Generators of small datasets for the data tests: no committed audio."""

from pathlib import Path

import numpy as np
import soundfile as sf

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "A journey of a thousand miles begins with one step.",
    "Every cloud has a silver lining.",
    "It was 1984 and the clocks struck 13.",
    "Dr. Brown paid $3.50 for coffee.",
]


def tone(seconds: float, sr: int, freq: float = 220.0, seed: int = 0) -> np.ndarray:
    """A voiced-looking test signal: a harmonic tone with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    y = 0.3 * y / np.max(np.abs(y)) + 0.01 * rng.standard_normal(len(t))
    return y.astype(np.float32)


def write_ljspeech(root: Path, n: int = 6, sr: int = 22050) -> Path:
    (root / "wavs").mkdir(parents=True)
    lines = []
    for i in range(n):
        name = f"LJ001-{i:04d}"
        sf.write(root / "wavs" / f"{name}.wav", tone(2.5 + 0.2 * i, sr, seed=i), sr)
        text = TEXTS[i % len(TEXTS)]
        lines.append(f"{name}|{text}|{text}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def write_multispeaker(root: Path, speakers=("alice", "bob"), per=5, sr=16000) -> Path:
    rows = ["audio_path|speaker|text"]
    for s, spk in enumerate(speakers):
        (root / "wavs" / spk).mkdir(parents=True)
        for i in range(per):
            rel = f"wavs/{spk}/{i:03d}.wav"
            sf.write(root / rel, tone(2.5 + 0.3 * i, sr, freq=150 + 60 * s, seed=10 * s + i), sr)
            rows.append(f"{rel}|{spk}|{TEXTS[(i + s) % len(TEXTS)]}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root
