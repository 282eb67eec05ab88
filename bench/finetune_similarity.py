"""Speaker similarity of a fine-tuned voice's new speaker to its teacher and to each base speaker.

The new speaker synthesises the teacher's held-out sentences (seed = row); each clip's
resemblyzer embedding is compared (cosine) with the centroid of the teacher's held-out
recordings and with the centroid of each base speaker's (up to 8 held-out recordings each).
The fine-tuning worked when the teacher's column is the highest.

example:
  python bench/finetune_similarity.py work/finetune/voice-10 new \
      work/finetune/corpus-10/heldout-new.csv work/corpus/heldout.csv 2
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

import flowaudio
from flowaudio.audio.io import load_audio
from flowaudio.eval.speaker import SpeakerEncoder


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="|"))
    for row in rows:  # paths relative to the CSV, as a corpus writes them
        row["audio_path"] = str(path.parent / row["audio_path"])
    return rows


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("voice_dir")
    p.add_argument("speaker", help="the new speaker's name in the voice")
    p.add_argument("heldout", type=Path, help="the teacher's held-out CSV")
    p.add_argument("base_heldout", type=Path, help="the base voice's held-out CSV")
    p.add_argument("steps", type=int)
    args = p.parse_args()
    enc = SpeakerEncoder(threads=1)
    voice = flowaudio.load_voice(args.voice_dir, threads=1)

    def embed(path: str) -> np.ndarray:
        return _unit(enc.embed(load_audio(path, 16000), 16000))

    new_rows = _rows(args.heldout)
    centroids = {"teacher": _unit(np.mean([embed(r["audio_path"]) for r in new_rows], 0))}
    base: dict[str, list[np.ndarray]] = defaultdict(list)
    for r in _rows(args.base_heldout):
        if len(base[r["speaker"]]) < 8:
            base[r["speaker"]].append(embed(r["audio_path"]))
    centroids.update({k: _unit(np.mean(v, 0)) for k, v in base.items()})
    sims: dict[str, list[float]] = defaultdict(list)
    for i, r in enumerate(new_rows):
        audio = voice.synthesize(r["text"], speaker=args.speaker, steps=args.steps, seed=i)
        e = _unit(enc.embed(audio.samples, audio.sample_rate))
        for k, c in centroids.items():
            sims[k].append(float(e @ c))
    print({k: round(float(np.mean(v)), 3) for k, v in sims.items()})


if __name__ == "__main__":
    main()
