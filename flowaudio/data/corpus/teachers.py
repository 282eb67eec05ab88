"""Teacher voices: the command-line synthesizers flite and espeak-ng, their voices, rendering.

A :class:`TeacherVoice` names one voice of one engine (``"flite:slt"``, ``"espeak:en-us+f3"``);
:func:`parse_voice` checks that the engine is installed and knows the voice, :func:`render` says
a text into a wav file atomically. Engines are Debian packages (``flite``, ``espeak-ng``); a
missing one raises :class:`EngineNotFoundError` naming the package.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ._files import audio_frames, temp_sibling

__all__ = [
    "EngineNotFoundError",
    "TeacherVoice",
    "engine_version",
    "parse_voice",
    "render",
    "require_programs",
]

# Engine name in a spec -> canonical engine name. "espeak-ng" is accepted as an alias.
_ENGINE_ALIASES = {"flite": "flite", "espeak": "espeak", "espeak-ng": "espeak"}
# Canonical engine -> (program on PATH, Debian package that installs it).
_PROGRAMS = {"flite": ("flite", "flite"), "espeak": ("espeak-ng", "espeak-ng")}


class EngineNotFoundError(RuntimeError):
    """A synthesizer program (flite or espeak-ng) is not on PATH."""


@dataclass(frozen=True)
class TeacherVoice:
    """One voice of one command-line synthesizer.

    Attributes:
        engine: ``"flite"`` or ``"espeak"`` (the program is ``espeak-ng``).
        voice: the engine's own voice name: ``"slt"``, ``"kal16"``, ``"en-us+f3"``.
    """

    engine: str
    voice: str

    def __post_init__(self) -> None:
        if self.engine not in _PROGRAMS:
            raise ValueError(
                f"unknown engine {self.engine!r}: use one of {sorted(_PROGRAMS)} "
                "(or build the voice with parse_voice('espeak-ng:en-us'))"
            )
        if (
            not self.voice
            or self.voice != self.voice.strip()
            or any(c.isspace() for c in self.voice)
        ):
            raise ValueError(
                f"bad {self.engine} voice name {self.voice!r}: it must be non-empty and contain "
                "no whitespace, e.g. 'slt' or 'en-us+f3'"
            )

    @property
    def speaker(self) -> str:
        """The voice name made filesystem-safe; used as speaker id and folder name.

        Characters other than letters, digits and ``. _ + -`` become ``_``: ``"en-us+f3"``
        stays as it is, ``"gmw/en-US"`` becomes ``"gmw_en-US"``.
        """
        safe = re.sub(r"[^A-Za-z0-9._+-]", "_", self.voice)
        # A leading dot would hide the folder; ".." would climb out of wavs/.
        return "_" + safe[1:] if safe.startswith(".") else safe

    @property
    def spec(self) -> str:
        """The canonical spec string, e.g. ``"flite:slt"`` or ``"espeak:en-us+f3"``."""
        return f"{self.engine}:{self.voice}"


def _executable(engine: str) -> str:
    """Absolute path of the engine's program, or :class:`EngineNotFoundError` with the fix."""
    program, package = _PROGRAMS[engine]
    found = shutil.which(program)
    if found is None:
        raise EngineNotFoundError(
            f"{program} is not installed: install the Debian package with "
            f"`apt-get install {package}`"
        )
    return found


def _run_listing(exe: str, *args: str) -> str:
    """stdout+stderr of a short listing command (voice lists, versions)."""
    try:
        done = subprocess.run(
            [exe, *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"`{exe} {' '.join(args)}` did not answer within 30 s") from exc
    return (done.stdout or "") + (done.stderr or "")


@lru_cache(maxsize=8)
def _flite_voices(exe: str) -> tuple[str, ...]:
    """Voices that ``flite -lv`` reports, e.g. ``("kal", "awb_time", "kal16", "awb", ...)``."""
    listing = _run_listing(exe, "-lv")
    _, _, names = listing.partition(":")
    return tuple(names.split())


@lru_cache(maxsize=8)
def _espeak_names(exe: str) -> tuple[frozenset[str], frozenset[str]]:
    """(language/voice names, variant names) that ``espeak-ng --voices`` lists, lower-cased."""

    def names(listing: str) -> set[str]:
        out: set[str] = set()
        for line in listing.splitlines()[1:]:  # first line is the column header
            cols = line.split()
            if len(cols) < 5:
                continue
            language, voice_name, file = cols[1], cols[3], cols[4]
            out.update(n.lower() for n in (language, voice_name, file, file.rsplit("/", 1)[-1]))
        return out

    languages = names(_run_listing(exe, "--voices"))
    variants = names(_run_listing(exe, "--voices=variant"))
    languages.discard("variant")
    return frozenset(languages), frozenset(variants)


def parse_voice(spec: str) -> TeacherVoice:
    """Parse ``"engine:voice"`` into a :class:`TeacherVoice`, checking the voice exists.

    Accepted engines are ``flite``, ``espeak`` and its alias ``espeak-ng``. flite voices must
    be among those ``flite -lv`` reports (flite silently falls back to its default voice for
    an unknown name, so the check matters); espeak voices are ``language[+variant]`` with the
    language and variant checked against ``espeak-ng --voices`` and ``--voices=variant``.

    Examples: ``"flite:slt"``, ``"flite:kal16"``, ``"espeak:en-us+f3"``, ``"espeak-ng:en-gb"``.

    Raises:
        ValueError: malformed spec, unknown engine or unknown voice (the message lists the
            valid choices).
        EngineNotFoundError: the engine's program is not installed.
    """
    engines = ", ".join(_ENGINE_ALIASES)
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(
            f"bad voice spec {spec!r}: expected 'engine:voice' with engine one of {engines}, "
            "e.g. 'flite:slt' or 'espeak:en-us+f3'"
        )
    engine_part, _, voice = spec.strip().partition(":")
    engine = _ENGINE_ALIASES.get(engine_part.strip().lower())
    if engine is None:
        raise ValueError(
            f"unknown engine {engine_part!r} in voice spec {spec!r}: valid engines are "
            f"{engines}, e.g. 'flite:slt' or 'espeak:en-us+f3'"
        )
    voice = voice.strip()
    if not voice or any(c.isspace() for c in voice):
        raise ValueError(
            f"bad voice spec {spec!r}: the voice after the colon must be a non-empty name "
            "without spaces, e.g. 'flite:slt' or 'espeak:en-us+f3'"
        )
    exe = _executable(engine)
    if engine == "flite":
        known = _flite_voices(exe)
        if voice not in known:
            raise ValueError(
                f"unknown flite voice {voice!r} in spec {spec!r}: `flite -lv` reports "
                f"{', '.join(known)}; use e.g. 'flite:slt'"
            )
    else:
        languages, variants = _espeak_names(exe)
        language, _, variant = voice.partition("+")
        if language.lower() not in languages:
            raise ValueError(
                f"unknown espeak-ng language/voice {language!r} in spec {spec!r}: see "
                "`espeak-ng --voices`; English ones include en-us, en-gb, en-gb-x-rp, en-029"
            )
        if variant and variant.lower() not in variants:
            raise ValueError(
                f"unknown espeak-ng variant {variant!r} in spec {spec!r}: see "
                "`espeak-ng --voices=variant`, e.g. f1-f5, m1-m8, klatt"
            )
    return TeacherVoice(engine=engine, voice=voice)


def engine_version(engine: str) -> str:
    """One line naming the engine's version.

    ``flite --version`` prints a copyright line first and the version on the second line, so
    the first line that mentions "version" is taken (falling back to the first line).
    """
    lines = [ln.strip() for ln in _run_listing(_executable(engine), "--version").splitlines()]
    lines = [ln for ln in lines if ln]
    for line in lines:
        if "version" in line.lower():
            return line
    return lines[0] if lines else "unknown"


def require_programs(specs: Sequence[str]) -> None:
    """Raise :class:`EngineNotFoundError` for the first spec whose engine program is missing,
    so a missing program is reported before any voice is checked in detail (a spec with an
    unknown engine is left to :func:`parse_voice`)."""
    for spec in specs:
        engine = _ENGINE_ALIASES.get(str(spec).partition(":")[0].strip().lower())
        if engine is not None:
            _executable(engine)


def _one_line(text: str, limit: int = 500) -> str:
    """Engine output squeezed onto one line (for messages and failed.tsv)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def render(voice: TeacherVoice, text: str, out_path: Path, timeout: float = 60.0) -> None:
    """Render ``text`` with ``voice`` into the wav file ``out_path`` (atomically).

    The engine writes a hidden temporary file next to ``out_path`` which is moved into place
    with :func:`os.replace` only once it holds audio, so ``out_path`` is either absent or
    complete. The text travels as one argv element and never through a shell:

    - flite: ``flite -voice slt -o TMP -t TEXT``. flite takes the argument after ``-t`` as the
      text whatever it looks like, so text starting with ``-`` is safe.
    - espeak-ng: ``espeak-ng -v en-us+f3 -b 1 -w TMP -- TEXT`` (``-b 1``: the text is UTF-8;
      ``--`` ends the options, so text starting with ``-`` is safe).

    Raises:
        ValueError: ``text`` is empty or ``timeout`` is not positive.
        EngineNotFoundError: the engine's program is not installed.
        RuntimeError: the engine failed, timed out or wrote no audio; the message carries the
            engine's stderr.
    """
    if not text or not text.strip():
        raise ValueError(f"nothing to render for {voice.spec}: text is empty ({text!r})")
    if timeout <= 0:
        raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
    exe = _executable(voice.engine)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(out_path, ".wav")
    if voice.engine == "flite":
        cmd = [exe, "-voice", voice.voice, "-o", str(tmp), "-t", text]
    else:
        cmd = [exe, "-v", voice.voice, "-b", "1", "-w", str(tmp), "--", text]
    try:
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            stderr = (exc.stderr or b"").decode("utf-8", "replace")
            raise RuntimeError(
                f"{voice.spec} timed out after {timeout:g} s rendering {text[:80]!r}; "
                f"stderr: {_one_line(stderr) or '(empty)'}; raise timeout= for long texts"
            ) from exc
        stderr = done.stderr.decode("utf-8", "replace")
        if done.returncode != 0:
            raise RuntimeError(
                f"{voice.spec} exited with status {done.returncode} rendering {text[:80]!r}; "
                f"stderr: {_one_line(stderr) or '(empty)'}"
            )
        if audio_frames(tmp) == 0:
            raise RuntimeError(
                f"{voice.spec} wrote no audio for {text[:80]!r}; "
                f"stderr: {_one_line(stderr) or '(empty)'}"
            )
        os.replace(tmp, out_path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
