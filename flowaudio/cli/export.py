"""``flowaudio export``: a trained run as an ONNX voice directory (torch -> ONNX; needs the
export extra and the ``export`` package installed next to flowaudio)."""

from __future__ import annotations

import argparse

from flowaudio.cli.common import add_command, missing_extra


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "export",
        "Export a trained acoustic run and vocoder run as an ONNX voice directory (encoder, "
        "velocity, vocoder graphs + voice.json), checked against torch before it is written.",
        """
        flowaudio export runs/acoustic --vocoder runs/vocoder --out voices/mine
        flowaudio export runs/acoustic --vocoder griffin-lim --out voices/gl --fp16
        flowaudio export runs/acoustic --vocoder runs/vocoder --out voices/fast --int8
        flowaudio export runs/acoustic --vocoder runs/vocoder --out voices/f --fused --fused-steps 4
        flowaudio export runs/acoustic --vocoder runs/vocoder --out voices/old --vocoder-istft graph
        flowaudio export runs/acoustic --vocoder runs/vocoder --out voices/mine \\
            --default steps=2 --default guidance_scale=1.5
        """,
        export,
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
        help="int8 matmul weights in the velocity network, the vocoder and the encoder's "
        "transformer layers (smaller and faster on CPU; the duration path and the matmuls "
        "int8 hurts most stay float32; verified against torch with wider bounds)",
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
    p.add_argument(
        "--vocoder-istft",
        choices=("host", "graph"),
        default=None,
        dest="vocoder_istft",
        help="where the vocoder's inverse STFT runs: host (numpy FFT in the runtime; "
        "vocoder.onnx gives the spectrum; voice schema 3, which older runtimes refuse) or "
        "graph (inside vocoder.onnx, schema 2, any runtime). Default host: on the shipped "
        "voice's vocoder with 2 threads, 0.81-0.87x the vocoder time of graph (71-77 vs "
        "80-84 ms per 10 s of audio)",
    )
    p.add_argument("--no-verify", action="store_true", help="skip the torch parity check")


def _import_export_voice():
    try:
        from flowaudio.export import voice
    except ModuleNotFoundError as exc:
        raise missing_extra("export", "export", exc) from exc
    return voice


def _key_value(item: str, option: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ValueError(f"{option} takes KEY=VALUE (e.g. steps=2), got {item!r}")
    return key.strip(), value.strip()


def export(args: argparse.Namespace) -> int:
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
        vocoder_istft=args.vocoder_istft,
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
