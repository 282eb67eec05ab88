"""``flowaudio say``, ``voices`` and ``info``: the runtime commands (numpy + onnxruntime, no
torch)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flowaudio.cli.common import add_command, read_text
from flowaudio.runtime.contract import SCHEDULES, SOLVERS


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "say",
        "Synthesize TEXT into a WAV file with an exported voice (default: the embedded voice).",
        """
        flowaudio say "Hello world." -o hello.wav
        flowaudio say "Hello." -o x.wav --voice voices/mine --speaker slt --steps 2 --seed 1
        cat story.txt | flowaudio say - -o story.wav
        """,
        say,
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

    p = add_command(
        sub,
        "voices",
        "List the embedded voice and the given voice directories with their speakers.",
        """
        flowaudio voices
        flowaudio voices voices/mine voices/other
        """,
        voices,
    )
    p.add_argument("voice_dirs", nargs="*", help="voice directories")

    p = add_command(
        sub,
        "info",
        "Print a voice's metadata (voice.json: audio, symbols, speakers, defaults, provenance).",
        """
        flowaudio info voices/mine
        """,
        info,
    )
    p.add_argument("voice_dir", help="voice directory")


def say(args: argparse.Namespace) -> int:
    import flowaudio
    from flowaudio.runtime.contract import SynthesisConfig

    text = read_text(args.text)
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


def voices(args: argparse.Namespace) -> int:
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


def info(args: argparse.Namespace) -> int:
    from flowaudio.runtime.contract import VoiceMeta

    meta = VoiceMeta.load(args.voice_dir)
    print(meta.to_json())
    size = sum(p.stat().st_size for p in Path(args.voice_dir).iterdir() if p.is_file())
    print(f"# size on disk: {size / 1e6:.1f} MB", file=sys.stderr)
    return 0
