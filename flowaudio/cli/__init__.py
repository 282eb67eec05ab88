"""The ``flowaudio`` command: thin argparse layers over the library, one module per command group
(each holds its subcommands' parsers next to their handlers).

Heavy imports (torch, the corpus engines, the data pipeline) happen inside each handler, so
``flowaudio --help`` and the runtime commands stay fast and torch-free.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Sequence

from flowaudio.cli import data, evaluate, export, serve, synth, text, train, voices
from flowaudio.cli.common import logger, release_stdout
from flowaudio.version import __version__

__all__ = ["build_parser", "main"]

# The order of `flowaudio --help`: text, data, training, the runtime, serving, measuring.
_GROUPS = (text, data, train, synth, voices, export, serve, evaluate)


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
    for group in _GROUPS:
        group.register(sub)
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
    except BrokenPipeError:  # the reader of our output left (| head): not an error of ours
        release_stdout()
        return 0
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        # User-facing errors carry their own fix; a traceback would only hide it.
        logger.debug("command failed", exc_info=True)
        print(f"flowaudio {args.command}: error: {exc}", file=sys.stderr)
        return 1
