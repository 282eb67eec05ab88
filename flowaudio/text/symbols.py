"""The symbol table: an explicit, versioned list of tokens, saved with every model.

A model's input ids only mean something together with the exact list that produced them, so the
list is data, not code: it is written into the prepared cache, every checkpoint and every exported
voice (``SymbolTable.to_dict``), and loaded back from there (``SymbolTable.from_dict``). A new
symbol never shifts the ids of old ones: versions only append.

Tokens are single Unicode code points (IPA letters, stress and length marks, combining
diacritics, punctuation, space), plus four named specials that text can never produce.
Unknown code points are dropped with one warning naming them (per table, per new symbol), never
an exception deep inside the model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

PAD = "<pad>"
BLANK = "<blank>"
BOS = "<bos>"
EOS = "<eos>"
SPECIALS = (PAD, BLANK, BOS, EOS)

_PUNCTUATION = " !\"'(),-.:;?"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# IPA as espeak-ng writes it for English and most European languages, plus the rest of the
# IPA chart so other espeak languages do not lose phonemes. Combining marks are their own tokens.
_IPA = (
    "æçðøħŋœɐɑɒɓɔɕɖɗɘəɚɛɜɝɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢ"
    "ǀǁǂǃβθχᵻⱱ"
    "ʰʲʷˠˤ˞ˈˌːˑ"
    "\u0303\u0329\u032a\u032f\u0330\u0325\u031a\u0361"  # nasal, syllabic, dental, ... , tie bar
    "↓↑→↗↘"
)

SYMBOLS_V1: tuple[str, ...] = (*SPECIALS, *_PUNCTUATION, *_LETTERS, *_IPA)

#: Every published table, by version. Never edit a published list; add a new version.
SYMBOL_TABLES: dict[str, tuple[str, ...]] = {"1": SYMBOLS_V1}


@dataclass
class SymbolTable:
    """Bidirectional map between tokens and ids, with a version tag.

    Args:
        symbols: the tokens in id order; the first four must be the specials
            ``<pad>``, ``<blank>``, ``<bos>``, ``<eos>``.
        version: the version tag stored next to the list.
    """

    symbols: tuple[str, ...]
    version: str
    _ids: dict[str, int] = field(init=False, repr=False)
    _warned: set[str] = field(init=False, repr=False, default_factory=set)

    def __post_init__(self) -> None:
        self.symbols = tuple(self.symbols)
        if self.symbols[: len(SPECIALS)] != SPECIALS:
            raise ValueError(
                f"a symbol table must start with {SPECIALS}, got {self.symbols[: len(SPECIALS)]}"
            )
        dupes = sorted({s for s in self.symbols if self.symbols.count(s) > 1})
        if dupes:
            raise ValueError(f"symbol table has duplicate symbols: {dupes}")
        self._ids = {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def load(cls, version: str = "1") -> SymbolTable:
        """The published table of ``version``."""
        if version not in SYMBOL_TABLES:
            raise ValueError(
                f"unknown symbol table version {version!r}; this flowaudio knows "
                f"{sorted(SYMBOL_TABLES)}: upgrade flowaudio to read newer models"
            )
        return cls(SYMBOL_TABLES[version], version)

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    @property
    def pad_id(self) -> int:
        return self._ids[PAD]

    @property
    def blank_id(self) -> int:
        return self._ids[BLANK]

    @property
    def bos_id(self) -> int:
        return self._ids[BOS]

    @property
    def eos_id(self) -> int:
        return self._ids[EOS]

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens``; unknown tokens are dropped, with one warning naming them."""
        ids: list[int] = []
        unknown: list[str] = []
        for tok in tokens:
            idx = self._ids.get(tok)
            if idx is None:
                if tok not in unknown:
                    unknown.append(tok)
            else:
                ids.append(idx)
        new = [u for u in unknown if u not in self._warned]
        if new:
            self._warned.update(new)
            logger.warning(
                "dropped symbol(s) not in symbol table v%s: %s",
                self.version,
                ", ".join(f"{u!r} (U+{ord(u):04X})" if len(u) == 1 else repr(u) for u in new),
            )
        return ids

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Tokens of ``ids``; ValueError for an id outside the table."""
        out = []
        for i in ids:
            if not 0 <= int(i) < len(self.symbols):
                raise ValueError(f"id {i} is outside the symbol table (size {len(self.symbols)})")
            out.append(self.symbols[int(i)])
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored in caches, checkpoints and voices."""
        return {"version": self.version, "symbols": list(self.symbols)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SymbolTable:
        """Inverse of :meth:`to_dict`; the stored list wins over the built-in one."""
        try:
            return cls(tuple(data["symbols"]), str(data["version"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a symbol table (needs 'version' and 'symbols'): {exc}") from exc


def intersperse(ids: Sequence[int], item: int) -> list[int]:
    """``[a, b, c] -> [item, a, item, b, item, c, item]`` (Glow-TTS blank interspersing)."""
    out = [item] * (2 * len(ids) + 1)
    out[1::2] = ids
    return out
