"""``flowaudio phonemize``: the text frontend's output, a debugging aid."""

from __future__ import annotations

import argparse
import json

from flowaudio.cli.common import add_command, read_text


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "phonemize",
        "Print the normalised text and the phonemes of TEXT (a frontend debugging aid).",
        """
        flowaudio phonemize "Dr. Smith paid $3.50 at 3:45 pm on Dec. 5th, 2024."
        echo "Hello world." | flowaudio phonemize - --ids
        """,
        phonemize,
    )
    p.add_argument("text", help="text to phonemize, or - to read standard input")
    p.add_argument("--backend", default="espeak", help="phonemizer backend: espeak or grapheme")
    p.add_argument("--language", default="en-us", help="language code (espeak voice name)")
    p.add_argument("--no-normalize", action="store_true", help="skip the text normaliser")
    p.add_argument("--ids", action="store_true", help="also print the model input ids")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def phonemize(args: argparse.Namespace) -> int:
    from flowaudio.text.config import TextConfig
    from flowaudio.text.frontend import TextFrontend

    text = read_text(args.text)
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
