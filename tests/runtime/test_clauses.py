"""Streaming's first piece: cutting a long sentence's ids after a clause (or between words)."""

import numpy as np
import pytest

from flowaudio.runtime.clauses import split_clauses

SYMBOLS = ("<pad>", "<blank>", "<bos>", "<eos>", " ", ",", ".", "a", "b", "c")
IDX = {s: i for i, s in enumerate(SYMBOLS)}


def _sentence(text: str) -> tuple[int, ...]:
    """Ids as the frontend writes them: <bos>/<eos> wrapped, a blank between every two."""
    body = [IDX["<bos>"], *(IDX[ch] for ch in text), IDX["<eos>"]]
    out = [IDX["<blank>"]]
    for t in body:
        out += [t, IDX["<blank>"]]
    return tuple(out)


def _text(ids) -> str:
    return "".join(SYMBOLS[i] for i in ids if SYMBOLS[i] != "<blank>")


def _well_formed(ids) -> bool:
    blanks = ids[0::2]
    return all(b == IDX["<blank>"] for b in blanks) and IDX["<blank>"] not in ids[1::2]


def test_short_sentence_is_left_whole():
    ids = _sentence("ab ca.")
    assert split_clauses(ids, SYMBOLS, 96) == [ids]


def test_cut_after_the_last_clause_mark_in_reach_then_the_rest_whole():
    text = "aaa bbb ccc, abc abc, " + " ".join(["abcab"] * 30) + "."
    ids = _sentence(text)
    first, rest = split_clauses(ids, SYMBOLS, 48, min_tokens=8, max_pieces=2)
    assert _text(first) == "<bos>aaa bbb ccc, abc abc,<eos>"
    assert _text(rest) == "<bos>" + " ".join(["abcab"] * 30) + ".<eos>"
    assert _well_formed(first) and _well_formed(rest) and len(first) <= 48
    # No limit on pieces: every piece fits, and together they say every word once.
    pieces = split_clauses(ids, SYMBOLS, 48, min_tokens=8)
    assert all(len(p) <= 48 and _well_formed(p) for p in pieces)
    words = " ".join(_text(p)[5:-5].rstrip(",.") for p in pieces).replace(",", "").split()
    assert words == text.rstrip(".").replace(",", "").split()


def test_without_a_clause_mark_the_cut_falls_between_words():
    text = " ".join(["abc"] * 40) + "."
    first, rest = split_clauses(_sentence(text), SYMBOLS, 40, min_tokens=8, max_pieces=2)
    assert _text(first).startswith("<bos>abc abc") and _text(first).endswith("abc<eos>")
    assert " <eos>" not in _text(first) and "<bos> " not in _text(rest)
    n_first = _text(first).count("abc")
    assert n_first + _text(rest).count("abc") == 40 and len(first) <= 40


def test_a_word_longer_than_the_budget_is_not_cut():
    ids = _sentence("a" * 80 + ".")
    assert split_clauses(ids, SYMBOLS, 40, min_tokens=8) == [ids]


def test_bad_limits():
    with pytest.raises(ValueError, match="max_tokens"):
        split_clauses(_sentence("ab."), SYMBOLS, 8, min_tokens=8)
    with pytest.raises(ValueError, match="max_pieces"):
        split_clauses(_sentence("ab."), SYMBOLS, 40, max_pieces=0)


LONG_FIRST = (
    "Winston Smith, his chin nuzzled into his breast in an effort to escape the vile wind, "
    "slipped quickly through the glass doors of Victory Mansions, though not quickly enough to "
    "prevent a swirl of gritty dust from entering along with him. It was late."
)


def test_default_voice_streams_a_long_first_sentence_without_a_click_at_the_seam():
    """The shipped voice: the first piece (cut after "Winston Smith,") ends where the voice
    pauses, so the sample step across the seam stays within the steps of whole-clip audio."""
    import flowaudio
    from flowaudio.runtime.synthesizer import FIRST_PIECE_MIN_TOKENS, FIRST_PIECE_TOKENS

    voice = flowaudio.load_voice(threads=1)
    plan = voice._plan(LONG_FIRST, None)
    pieces = split_clauses(plan[0].ids, voice.frontend.symbols.symbols, FIRST_PIECE_TOKENS,
                           FIRST_PIECE_MIN_TOKENS, max_pieces=2)  # fmt: skip
    assert len(pieces) == 2 and len(pieces[0]) <= FIRST_PIECE_TOKENS
    chunks = list(voice.stream(LONG_FIRST, config=flowaudio.SynthesisConfig(seed=0)))
    streamed = np.concatenate([c.samples for c in chunks])
    whole = voice.synthesize(LONG_FIRST, seed=0).samples
    # The same words: within 10% of the whole-sentence length.
    assert abs(len(streamed) - len(whole)) < 0.1 * len(whole)
    # Where the first piece ends: its own frames (the stream's first mel, same key).
    opts = voice._resolve(flowaudio.SynthesisConfig(seed=0))
    _, frames = voice._mels([pieces[0]], [(0, 0)], opts, 0, None)
    seam = frames[0] * voice.audio_config.hop_length
    jumps = np.abs(np.diff(whole))
    bound = float(np.quantile(jumps, 0.999))  # the largest steps of whole-clip speech
    around = np.abs(np.diff(streamed[seam - 64 : seam + 64]))
    assert around.max() <= bound, (around.max(), bound)
    # And the seam sits in a quiet stretch (the pause after the comma), not mid-word.
    rms = lambda x: float(np.sqrt(np.mean(x**2)))  # noqa: E731
    assert rms(streamed[seam - 800 : seam + 800]) < 0.5 * rms(whole)
