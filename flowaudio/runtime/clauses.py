"""Cutting a long sentence's token ids into clause-sized pieces for streaming.

``Voice.stream`` yields the first audio after the encoder and the velocity network have run
over the whole first sentence, so a long first sentence (40+ words, 15 s of speech) waits for
both at full length before a sample comes out. Streamed in pieces of at most ``max_tokens``
tokens, the first audio waits for one short piece only, and memory stays bounded by the piece,
whatever the sentence's length.

A piece ends after a clause mark (``,`` ``;`` ``:``) when one lies far enough in
(``min_tokens``): there the voice pauses anyway, so the seam falls in a pause. A clause longer
than ``max_tokens`` is cut at a word boundary instead (the seam then falls between words).
Every piece is wrapped like a sentence: the ``<bos>``/``<eos>`` tokens the voice was trained
with (and their blanks), so each is read as the model knows how to read a sentence.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["CLAUSE_MARKS", "split_clauses"]

CLAUSE_MARKS = (",", ";", ":")


def _wrapper(ids: Sequence[int], index: dict[str, int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The sentence's leading tokens up to ``<bos>`` (and a blank after it) and its trailing
    tokens from ``<eos>`` (and a blank before it); empty when it has none."""
    bos, eos, blank = index.get("<bos>"), index.get("<eos>"), index.get("<blank>")
    head: tuple[int, ...] = ()
    tail: tuple[int, ...] = ()
    if bos is not None and bos in ids[:2]:
        end = list(ids[:2]).index(bos) + 1
        if end < len(ids) and ids[end] == blank:
            end += 1
        head = tuple(ids[:end])
    if eos is not None and eos in ids[-2:]:
        start = len(ids) - 2 + list(ids[-2:]).index(eos)
        if start > 0 and ids[start - 1] == blank:
            start -= 1
        tail = tuple(ids[start:])
    return head, tail


def split_clauses(
    ids: Sequence[int],
    symbols: Sequence[str],
    max_tokens: int,
    min_tokens: int = 24,
    max_pieces: int | None = None,
) -> list[tuple[int, ...]]:
    """``ids`` of one sentence as pieces of at most ~``max_tokens`` tokens each (module
    docstring); the sentence itself when it is short enough or has nowhere to cut.

    Args:
        ids: the sentence's token ids as the frontend gives them.
        symbols: the voice's symbol table (ids index it).
        max_tokens: longest piece wanted (> ``min_tokens``).
        min_tokens: no piece (but the last) shorter than this.
        max_pieces: at most this many pieces, the last one whatever is left (None: no
            limit). ``Voice.stream`` cuts only the first piece off (2): one seam per text.
    """
    if max_pieces is not None and max_pieces < 1:
        raise ValueError(f"max_pieces must be >= 1, got {max_pieces}")
    if max_tokens <= min_tokens or min_tokens < 1:
        raise ValueError(
            f"need max_tokens > min_tokens >= 1, got max_tokens={max_tokens}, "
            f"min_tokens={min_tokens}"
        )
    ids = tuple(int(i) for i in ids)
    if len(ids) <= max_tokens:
        return [ids]
    index = {s: i for i, s in enumerate(symbols)}
    head, tail = _wrapper(ids, index)
    body = ids[len(head) : len(ids) - len(tail)]
    marks = {index[m] for m in CLAUSE_MARKS if m in index}
    space = index.get(" ")
    blank = index.get("<blank>")
    budget = max_tokens - len(head) - len(tail)
    gaps = {t for t in (space, blank) if t is not None}

    def cut_after(start: int) -> int | None:
        """End (exclusive) of the piece that starts at ``start``: after the last clause mark
        within the budget, else at the last word boundary; None when neither exists."""
        stop = min(len(body), start + budget)
        best_mark = best_space = None
        for k in range(start + min_tokens, stop):
            if body[k] in marks:
                best_mark = k + 1
            elif body[k] == space:
                best_space = k
        return best_mark or best_space

    def trimmed(a: int, b: int) -> tuple[int, int]:
        """[a, b) without the spaces and blanks at either end: the wrapper brings its own."""
        while a < b and body[a] in gaps:
            a += 1
        while b > a and body[b - 1] in gaps:
            b -= 1
        return a, b

    pieces: list[tuple[int, ...]] = []
    start = 0
    while len(body) - start > budget and (max_pieces is None or len(pieces) < max_pieces - 1):
        end = cut_after(start)
        if end is None or end <= start:
            break
        a, b = trimmed(start, end)
        pieces.append(body[a:b])
        start = end
    a, b = trimmed(start, len(body))
    if b > a:
        pieces.append(body[a:b])
    if len(pieces) == 1:
        return [ids]
    return [head + piece + tail for piece in pieces]
