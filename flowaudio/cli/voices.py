"""``flowaudio voices`` and ``flowaudio info``: what voices there are and what one holds (reads
voice.json only; no graph is loaded)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from flowaudio.cli.common import add_command, voice_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "voices",
        "List the embedded voice and the given voices with their speakers.",
        """
        flowaudio voices
        flowaudio voices voices/mine voices/other
        """,
        voices,
    )
    p.add_argument(
        "voice_dirs", nargs="*", help="voice directories ('default': the embedded voice)"
    )

    p = add_command(
        sub,
        "info",
        "Summarise a voice: name, speakers, sample rate, default settings, sizes, how it was "
        "made and distilled, its text normaliser's rules; --json prints the whole voice.json.",
        """
        flowaudio info
        flowaudio info voices/mine
        flowaudio info default --json
        """,
        info,
    )
    p.add_argument(
        "voice",
        nargs="?",
        default="default",
        help="voice directory or 'default' (the embedded voice)",
    )
    p.add_argument("--json", action="store_true", help="print the full metadata (voice.json)")


def voices(args: argparse.Namespace) -> int:
    from flowaudio.runtime.contract import VoiceMeta
    from flowaudio.runtime.synthesizer import default_voice_dir

    entries = []
    default = default_voice_dir()
    if default is not None:
        entries.append(("(default)", default))
    entries.extend((p, voice_dir(p)) for p in args.voice_dirs if p != "default" or not entries)
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

    path = voice_dir(args.voice)
    meta = VoiceMeta.load(path)
    if args.json:
        print(meta.to_json())
        return 0
    print("\n".join(summary(meta, path)))
    return 0


def summary(meta, path: Path) -> list[str]:
    """The lines of ``flowaudio info``: a VoiceMeta in words."""
    from flowaudio.text.normalize import NORMALIZER_VERSION

    audio, text, d = meta.audio, meta.text, meta.defaults
    who = (
        f"{len(meta.speakers)}: {', '.join(meta.speakers)}"
        if meta.speaker_mode == "id"
        else f"any, by a {meta.speaker_embedding_dim}-number speaker embedding"
    )
    rules = int(text.get("normalizer_version", 1))
    installed = "" if rules == NORMALIZER_VERSION else f" (installed: v{NORMALIZER_VERSION})"
    files = sorted(p for p in path.iterdir() if p.is_file())
    sizes = ", ".join(f"{p.name} {_mb(p.stat().st_size)}" for p in files if p.suffix == ".onnx")
    total = _mb(sum(p.stat().st_size for p in files))
    weights = meta.provenance.get("weights")
    lines = [
        f"voice {meta.name} ({path}, schema {meta.schema_version})",
        f"  speakers: {who}",
        f"  audio:    {audio['sample_rate']} Hz, {audio['n_mels']} mel bands, hop "
        f"{audio['hop_length']}; vocoder {meta.vocoder}",
        f"  text:     {text.get('phonemizer')} {text.get('language')}, normaliser rules "
        f"v{rules}{installed}",
        f"  defaults: {d.steps} steps {d.solver.value} ({d.schedule.value}), guidance "
        f"{d.guidance_scale:g}, temperature {d.temperature:g}, length scale "
        f"{d.length_scale:g}, sentence pause {d.sentence_pause:g} s"
        + (f"; fused graph of {meta.fused_steps} steps" if meta.fused_steps else ""),
        f"  size:     {total} on disk ({sizes})" + (f", {weights} weights" if weights else ""),
        f"  made:     {_made(meta.provenance)}",
    ]
    if meta.distillation is not None:
        lines.append(f"  distilled: {_distilled(meta.distillation)}")
    return lines


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _made(provenance: dict[str, Any]) -> str:
    parts = []
    for part in ("acoustic", "vocoder"):
        facts = provenance.get(part)
        if isinstance(facts, dict):
            steps, params = facts.get("steps_trained"), facts.get("n_parameters")
            corpus = facts.get("corpus")
            parts.append(
                f"{part} {steps if steps is not None else '?'} steps"
                + (f", {params / 1e6:.1f} M parameters" if params else "")
                + (f", on {corpus}" if corpus else "")
            )
        elif facts:
            parts.append(f"{part} {facts}")
    version, date = provenance.get("flowaudio_version"), provenance.get("exported_at")
    if version or date:
        parts.append(
            "exported" + (f" by flowaudio {version}" if version else "")
            + (f" on {str(date)[:10]}" if date else "")
        )  # fmt: skip
    return "; ".join(parts) or "no provenance recorded"


def _distilled(distillation: dict[str, Any]) -> str:
    method = distillation.get("method", "?")
    teacher = distillation.get("teacher")
    settings = distillation.get("teacher_settings") or {}
    told = ", ".join(f"{k} {v}" for k, v in settings.items() if not isinstance(v, dict | list))
    return (
        f"{method} student" + (f" of {teacher}" if teacher else "")
        + (f" (teacher sampled with {told})" if told else "")
        + "; one velocity pass per step, guidance folded in"
    )  # fmt: skip
