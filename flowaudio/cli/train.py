"""``flowaudio train``, ``train-vocoder``, ``distill`` and ``finetune``: the torch commands
(torch is imported inside each handler, so the rest of the CLI stays torch-free)."""

from __future__ import annotations

import argparse
from pathlib import Path

from flowaudio.cli.common import add_command, logger


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
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
        train,
    )
    _add_train_args(p, "tiny, small, base", "model: and train: sections")

    p = add_command(
        sub,
        "train-vocoder",
        "Train the Vocos-style vocoder (mel -> waveform) on a prepared cache with multi-period "
        "and multi-resolution discriminators. Resumable like `train`.",
        """
        flowaudio train-vocoder --config small --data cache/corpus --out runs/vocoder
        flowaudio train-vocoder --data cache/corpus --out runs/vocoder --max-steps 400000
        flowaudio train-vocoder --config gan-finetune --init default --data cache/c --out runs/gan
        flowaudio train-vocoder --config gan-finetune --init default --acoustic-mels default \
--data cache/c --out runs/gan-am
        """,
        train,
    )
    _add_train_args(
        p, "tiny, small, small-gan, gan-finetune", "model:, train:, segment_frames, gan_start_step"
    )
    p.add_argument(
        "--init",
        default=None,
        metavar="VOICE_OR_RUN",
        help="start the generator from this voice's vocoder ('default', a voice directory) or "
        "a vocoder run (fine-tuning; the discriminators start fresh)",
    )
    p.add_argument(
        "--acoustic-mels",
        default=None,
        metavar="VOICE_OR_RUN",
        help="train on the mels this acoustic model ('default', a voice, a run) generates for "
        "the cache's clips, teacher-forced to the recordings (generated once under "
        "DATA/acoustic-mels, resumable)",
    )
    p.add_argument(
        "--acoustic-start-t",
        type=float,
        default=0.0,
        metavar="T",
        help="with --acoustic-mels: 0 samples them from noise (the model's own pitch); T in "
        "(0, 1) starts from the recording's mel noised to time T, so pitch and formants stay "
        "the recording's and only the texture is the model's",
    )

    p = add_command(
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
        distill,
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

    p = add_command(
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
        "batches of a quarter of the data within [1000, 6000] frames, 35 passes over the "
        "data within [200, 3000] steps (10 minutes: ~200 steps), learning rate 1e-3 (LoRA) or "
        "1e-4 (--full) with a 1/20 warm-up and cosine decay, validation every tenth of the "
        "run, early stop after 3 validations "
        "without a 0.5 percent gain. Resumable (re-run the same command; Ctrl-C saves), "
        "progress bar, TensorBoard in OUT/tensorboard. The export reuses the voice's vocoder.",
        """
        flowaudio finetune --from default --data my_clips/ --speaker me --out runs/me
        flowaudio export runs/me --out voices/me
        flowaudio say "Hello, it is me." -o me.wav --voice voices/me --speaker me
        flowaudio finetune --from voices/mine --data clips.csv --mode replace --full --out runs/x
        """,
        finetune,
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


def exit_status(trainer) -> int:  # a train.loop.Trainer (torch: imported lazily)
    """130 (the shell's code for SIGINT) when a stop signal ended the run early, else 0."""
    if trainer.interrupted:
        logger.warning("stopped by a signal at step %d (saved; run the same command to resume)",
                       trainer.step)  # fmt: skip
        return 130
    return 0


def train(args: argparse.Namespace) -> int:
    """``train`` (acoustic model) and ``train-vocoder``: the same options, another task."""
    extra = {}
    if args.command == "train-vocoder":
        from flowaudio.train.vocoder import train_vocoder as run_task

        extra = {
            "init": args.init,
            "acoustic_mels": args.acoustic_mels,
            "acoustic_start_t": args.acoustic_start_t,
        }
    else:
        from flowaudio.train.acoustic import train_acoustic as run_task
    trainer = run_task(
        args.data,
        args.out,
        config=args.config,
        max_steps=args.max_steps,
        progress=not args.quiet,
        allow_new_data=args.allow_new_data,
        **extra,
    )
    print(f"run {args.out}: step {trainer.step}; checkpoints in {Path(args.out) / 'checkpoints'}")
    return exit_status(trainer)


def distill(args: argparse.Namespace) -> int:
    from flowaudio.export.from_voice import load_teacher
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
    return exit_status(trainer)


def finetune(args: argparse.Namespace) -> int:
    import dataclasses

    from flowaudio.export.from_voice import load_teacher, resolve_voice_dir
    from flowaudio.runtime.contract import VoiceMeta, is_voice_source
    from flowaudio.train.finetune import ADAPTER_FILE, finetune

    source = load_teacher(args.source)
    from_voice = is_voice_source(args.source)
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
    return exit_status(trainer)
