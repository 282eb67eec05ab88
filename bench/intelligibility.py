"""Intelligibility and copy-synthesis quality on a teacher corpus's held-out sentences.

For each held-out clip (``CORPUS/heldout.csv``) this measures, next to each other:
  * teacher: pocketsphinx WER of the original recording (the floor for everything else);
  * copy synthesis: the teacher's own log-mel vocoded back (Griffin-Lim and/or a trained
    vocoder run): WER, wideband PESQ (16 kHz) and mel L1 against the original;
  * tts: an acoustic-model run (torch, EMA weights, before export) synthesising the sentence
    with the teacher's speaker: WER per step count.
Prints a table and writes JSON. To evaluate an exported voice (WER, speaker similarity, MCD,
RTF and the quality bars), use `flowaudio evaluate --test-set CORPUS/heldout.csv --voice DIR`.

example:
  python bench/intelligibility.py --corpus data/corpus-default --vocoder griffin-lim
  python bench/intelligibility.py --corpus data/corpus-default --acoustic runs/acoustic \
      --vocoder runs/vocoder --steps 2,4 --per-speaker 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from flowaudio.audio.config import AudioConfig
from flowaudio.audio.io import load_audio
from flowaudio.audio.mel import log_mel_spectrogram
from flowaudio.config import from_dict
from flowaudio.eval.asr import Transcriber, grouped_word_error_rate
from flowaudio.eval.testset import load_test_set


class _TorchVocoder:
    """The (EMA) generator of a vocoder run."""

    def __init__(self, run: Path):
        from flowaudio.export.voice import load_vocoder

        self.run = load_vocoder(run)
        self.step = self.run.step

    def __call__(self, mel: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.run.model(torch.from_numpy(mel)[None])[0].numpy()


def _vocoders(spec: str, audio: AudioConfig) -> dict:
    from flowaudio.runtime.griffinlim import griffin_lim

    out = {}
    for name in spec.split(","):
        if name == "griffin-lim":
            out[name] = lambda mel: griffin_lim(mel, audio, n_iter=32)
        elif name:
            out[f"vocoder@{Path(name).name}"] = _TorchVocoder(Path(name))
    return out


def _acoustic(run: Path):
    """(text, speaker, steps) -> log-mel with the (EMA) model of an acoustic run, in torch."""
    import torch

    from flowaudio.export.voice import load_acoustic
    from flowaudio.text.config import TextConfig
    from flowaudio.text.frontend import TextFrontend
    from flowaudio.text.symbols import SymbolTable

    loaded = load_acoustic(run)
    meta = loaded.metadata
    frontend = TextFrontend(
        from_dict(TextConfig, meta["text"]), SymbolTable.from_dict(meta["symbols"])
    )

    def synth(text: str, speaker: str, steps: int) -> np.ndarray:
        ids = torch.tensor([frontend.encode(text).ids])
        spk = torch.tensor([meta["speakers"].index(speaker)])
        with torch.no_grad():
            out = loaded.model.synthesize(
                ids, torch.tensor([ids.shape[1]]), spk, steps=steps, seed=0
            )
        return out.mel[0, :, : int(out.mel_lengths[0])].numpy()

    return synth, loaded.step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example:" + __doc__.split("example:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", required=True, help="corpus dir with heldout.csv")
    parser.add_argument(
        "--vocoder", default="griffin-lim", help="comma list: griffin-lim and/or vocoder run dirs"
    )
    parser.add_argument("--acoustic", default=None, help="acoustic run dir (torch) to evaluate")
    parser.add_argument("--steps", default="4", help="comma list of ODE step counts")
    parser.add_argument("--per-speaker", type=int, default=5, help="held-out clips per speaker")
    parser.add_argument("--config", default="16k", help="audio preset of the features")
    parser.add_argument("--out", default="bench/results/intelligibility.json")
    args = parser.parse_args(argv)

    from flowaudio.audio.config import AUDIO_PRESETS

    audio_cfg = AUDIO_PRESETS[args.config]
    asr = Transcriber()
    clips = [
        (item.audio_path, item.speaker, item.text)
        for item in load_test_set(Path(args.corpus) / "heldout.csv", args.per_speaker).items
    ]
    vocoders = _vocoders(args.vocoder, audio_cfg)
    steps_list = [int(s) for s in args.steps.split(",")]
    acoustic, acoustic_step = _acoustic(Path(args.acoustic)) if args.acoustic else (None, None)
    hyps: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    refs: dict[str, list[str]] = defaultdict(list)
    quality: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    started = time.perf_counter()
    for path, speaker, text in clips:
        refs[speaker].append(text)
        wav = load_audio(path, audio_cfg.sample_rate)
        wav = wav[: len(wav) // audio_cfg.hop_length * audio_cfg.hop_length]
        hyps["teacher"][speaker].append(asr.transcribe(wav, audio_cfg.sample_rate))
        mel = log_mel_spectrogram(wav, audio_cfg)
        for name, vocode in vocoders.items():
            y = np.clip(vocode(mel), -1, 1)[: len(wav)]
            hyps[f"copy:{name}"][speaker].append(asr.transcribe(y, audio_cfg.sample_rate))
            quality[name]["mel_l1"].append(
                float(np.abs(log_mel_spectrogram(y, audio_cfg) - mel).mean())
            )
            from pesq import pesq

            quality[name]["pesq_wb"].append(float(pesq(audio_cfg.sample_rate, wav, y, "wb")))
        for steps in steps_list:
            if acoustic is not None:
                tts_mel = acoustic(text, speaker, steps)
                for name, vocode in vocoders.items():
                    y = np.clip(vocode(tts_mel), -1, 1)
                    hyps[f"tts{steps}:{name}"][speaker].append(
                        asr.transcribe(y, audio_cfg.sample_rate)
                    )
    speakers = sorted(refs)
    table = {}
    for system, by_spk in hyps.items():
        grouped = grouped_word_error_rate(refs, by_spk)
        table[system] = {"all": grouped.overall.wer, **{s: grouped.groups[s].wer for s in speakers}}
    result = {
        "corpus": args.corpus,
        "clips": len(clips),
        "acoustic": args.acoustic,
        "acoustic_step": acoustic_step,
        "wer": table,
        "copy_synthesis": {
            name: {k: float(np.mean(v)) for k, v in q.items()} for name, q in quality.items()
        },
        "seconds": time.perf_counter() - started,
    }
    print(
        f"WER (pocketsphinx) on {len(clips)} held-out clips of {args.corpus}"
        + (f", acoustic step {acoustic_step}" if acoustic_step is not None else "")
    )
    print(f"{'system':28s} {'all':>6s} " + " ".join(f"{s:>6s}" for s in speakers))
    for system, row in table.items():
        print(f"{system:28s} {row['all']:6.3f} " + " ".join(f"{row[s]:6.3f}" for s in speakers))
    for name, q in result["copy_synthesis"].items():
        print(f"copy synthesis {name}: PESQ-wb {q['pesq_wb']:.2f}, mel L1 {q['mel_l1']:.3f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
