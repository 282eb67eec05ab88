"""Sentence splitting for long inputs and streaming.

Runs on *normalised* text, where abbreviations and decimals are already words, so a period,
question or exclamation mark followed by a capitalised word really ends a sentence. Sentences
longer than ``max_chars`` are cut at the last clause mark (, ; :) or else the last space before
the limit, so no chunk is ever longer than the model was trained on by an arbitrary amount.
"""

from __future__ import annotations

import re

# End of sentence: terminal punctuation (possibly repeated, possibly closing quote/bracket),
# whitespace, then something that starts a sentence.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_CLAUSE = re.compile(r"[,;:]\s")


def split_sentences(text: str, max_chars: int = 300) -> list[str]:
    """Split ``text`` into sentences of at most ``max_chars`` characters.

    Args:
        text: normalised text.
        max_chars: upper bound on a chunk's length; must be at least 20.

    Returns:
        Non-empty, stripped sentences in order; an empty list for blank text.
    """
    if max_chars < 20:
        raise ValueError(f"max_chars must be at least 20, got {max_chars}")
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        _add(out, text[start : match.start()] + match.group(0).strip(), max_chars)
        start = match.end()
    _add(out, text[start:], max_chars)
    return out


def _add(out: list[str], sentence: str, max_chars: int) -> None:
    sentence = " ".join(sentence.split())
    while len(sentence) > max_chars:
        head = sentence[:max_chars]
        clauses = [m.end() for m in _CLAUSE.finditer(head)]
        cut = clauses[-1] if clauses and clauses[-1] > max_chars // 3 else head.rfind(" ") + 1
        if cut <= 0:  # one huge "word": hard cut
            cut = max_chars
        out.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        out.append(sentence)
