"""``flowaudio corpus build`` and ``flowaudio prepare``: training data from teacher voices or
recordings, into a feature cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from flowaudio.cli.common import Formatter, add_command


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "prepare",
        "Phonemise a dataset and compute its mel features into a training cache "
        "(resumable; bad files are skipped and listed in CACHE/report.tsv).",
        """
        flowaudio prepare LJSpeech-1.1 --out cache/lj --config 22k
        flowaudio prepare corpus --out cache/corpus --workers 2
        """,
        prepare,
    )
    p.add_argument(
        "data_dir",
        help="dataset: LJSpeech layout dir, multi-speaker CSV (dir/file), or a folder of "
        "NAME.wav + NAME.txt pairs",
    )
    p.add_argument("--out", required=True, help="cache directory to write")
    p.add_argument(
        "--config",
        default="16k",
        help="data config: preset (16k, 22k) or a YAML/TOML file of DataConfig fields",
    )
    p.add_argument(
        "--format",
        default="auto",
        choices=["auto", "ljspeech", "csv", "folder"],
        help="dataset layout (folder: NAME.wav + NAME.txt pairs)",
    )
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument("--overwrite", action="store_true", help="redo a cache made with another config")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    corpus = sub.add_parser(
        "corpus",
        help="Build a multi-speaker corpus from teacher voices (flite, espeak-ng).",
        description="Corpus tools.",
        formatter_class=Formatter,
    )
    corpus_sub = corpus.add_subparsers(dest="corpus_command", metavar="COMMAND", required=True)
    p = add_command(
        corpus_sub,
        "build",
        "Render sentences with teacher TTS engines into a multi-speaker corpus "
        "(audio_path|speaker|text CSV + wavs/), with a held-out split shared by all voices. "
        "Without --voices/--per-voice this builds the default-voice recipe.",
        """
        flowaudio corpus build --out corpus --voices flite:slt,flite:rms,flite:awb,flite:kal16 \\
            --sentences fortunes --per-voice 1000 --seed 1234
        flowaudio corpus build --out tiny --voices flite:slt,espeak:en-us+f3 \\
            --sentences my_sentences.txt --per-voice 12 --heldout 4
        """,
        corpus_build,
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument(
        "--voices", default=None, help="comma-separated ENGINE:VOICE list (flite:slt, espeak:en-us)"
    )
    p.add_argument(
        "--sentences", default=None, help="'fortunes' (Debian package) or a UTF-8 text file"
    )
    p.add_argument("--per-voice", type=int, default=None, help="training clips per voice")
    p.add_argument("--heldout", type=int, default=None, help="held-out sentences (all voices)")
    p.add_argument("--seed", type=int, default=None, help="sentence selection seed")
    p.add_argument("--workers", type=int, default=None, help="parallel renders (default: cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def prepare(args: argparse.Namespace) -> int:
    from flowaudio.config import load_config
    from flowaudio.data.config import DATA_PRESETS, DataConfig
    from flowaudio.data.prepare import prepare_dataset

    config = load_config(DataConfig, args.config, DATA_PRESETS)
    summary = prepare_dataset(
        args.data_dir,
        args.out,
        config,
        fmt=args.format,
        workers=args.workers,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    print(
        f"cache {summary.cache_dir}: {summary.n_items} utterances "
        f"({summary.n_train} train / {summary.n_val} val), {summary.hours:.2f} h, "
        f"speakers: {', '.join(summary.speakers)}; {summary.n_skipped} skipped "
        f"(listed in {Path(summary.cache_dir) / 'report.tsv'}); "
        f"{summary.elapsed_seconds:.1f} s"
    )
    return 0


def corpus_build(args: argparse.Namespace) -> int:
    from flowaudio.data.corpus import DEFAULT_VOICE_RECIPE, build_corpus

    recipe = DEFAULT_VOICE_RECIPE
    voices = args.voices.split(",") if args.voices else list(recipe.voices)
    summary = build_corpus(
        Path(args.out),
        voices=[v.strip() for v in voices if v.strip()],
        sentences=args.sentences or recipe.sentences,
        per_voice=args.per_voice if args.per_voice is not None else recipe.per_voice,
        heldout=args.heldout if args.heldout is not None else recipe.heldout,
        seed=args.seed if args.seed is not None else recipe.seed,
        workers=args.workers,
        progress=not args.quiet,
    )
    hours = summary.total_seconds / 3600
    print(
        f"corpus {summary.out_dir}: {summary.n_train} training + {summary.n_heldout} held-out "
        f"clips, {hours:.2f} h, voices: {', '.join(summary.voices)}; "
        f"{len(summary.failed)} failed; {summary.elapsed_seconds:.1f} s"
    )
    return 0
