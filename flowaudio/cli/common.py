"""What every ``flowaudio`` command module shares: the help formatter, the way a subcommand is
registered with its example, and the messages written once (a missing extra, no default voice).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger("flowaudio")

Handler = Callable[[argparse.Namespace], int]


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the hand-written examples in epilogs and shows defaults, once: an option whose help
    already says its default, or whose default is None (decided later), gets no second one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "(default" in text or action.default is None:
            return text
        return super()._get_help_string(action)


def add_command(
    sub: argparse._SubParsersAction, name: str, help_text: str, example: str, func: Handler
) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with ``example`` (every command shows one)."""
    parser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog="example:\n" + textwrap.indent(textwrap.dedent(example).strip(), "  "),
        formatter_class=Formatter,
    )
    parser.set_defaults(func=func)
    return parser


def missing_extra(command: str, extra: str, exc: ModuleNotFoundError) -> RuntimeError:
    """The error for a command whose optional dependencies are not installed."""
    return RuntimeError(f"flowaudio {command} needs {exc.name}: pip install 'flowaudio[{extra}]'")


def default_voice_or_error() -> Path:
    """The embedded voice's directory, or a ValueError saying how to name one."""
    # looked up at call time: tests replace synthesizer.default_voice_dir
    from flowaudio.runtime import synthesizer

    voice_dir = synthesizer.default_voice_dir()
    if voice_dir is None:
        raise ValueError(
            "this flowaudio build ships no default voice: pass --voice VOICE_DIR (a "
            "directory written by `flowaudio export`)"
        )
    return voice_dir


def voice_dir(value: str | None) -> Path:
    """A ``--voice``-style argument: a voice directory, or None / ``default`` for the embedded
    voice (a folder named default is ``./default``)."""
    if value is None or value == "default":
        return default_voice_or_error()
    return Path(value)


def release_stdout() -> None:
    """After a BrokenPipeError (the reader of a pipe left, e.g. ``| head``): point standard
    output at /dev/null, so that Python's own flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def read_text(arg: str) -> str:
    """A TEXT argument: ``-`` reads standard input."""
    return sys.stdin.read() if arg == "-" else arg
