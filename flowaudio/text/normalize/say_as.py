"""SSML ``<say-as>``: read a piece of text as the kind of thing the markup says it is."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from flowaudio.text.normalize.english import DateOrder, date_words, final_cleanup, telephone_words
from flowaudio.text.normalize.tables import MONTHS
from flowaudio.text.normalize.words import cardinal, digits, ordinal, spell, year

#: ``normalize(text, date_order)``: the ordinary reading, for kinds that do not apply.
Normalize = Callable[[str, DateOrder], str]

logger = logging.getLogger(__name__)

#: interpret-as values this reader knows (SSML 1.1 leaves the list open; these are the common
#: ones of the cloud speech APIs).
INTERPRETATIONS = (
    "characters",
    "spell-out",
    "cardinal",
    "number",
    "ordinal",
    "digits",
    "date",
    "time",
    "telephone",
)

_NUMBER_RE = re.compile(r"-?\d[\d,]*", re.ASCII)
_DATE_PARTS_RE = re.compile(r"\d+", re.ASCII)


def _number(text: str, to_words: Callable[[str], str]) -> str | None:
    match = _NUMBER_RE.fullmatch(text.strip())
    if match is None:
        return None
    value = match.group(0).replace(",", "")
    sign = "minus " if value.startswith("-") else ""
    return sign + to_words(value.lstrip("-").lstrip("0") or "0")


def _date(text: str, date_format: str | None, normalize: Normalize) -> str:
    parts = _DATE_PARTS_RE.findall(text)
    fmt = (date_format or "").lower()
    if fmt and len(parts) == len(fmt) and set(fmt) <= set("dmy") and len(set(fmt)) == len(fmt):
        value = dict(zip(fmt, parts, strict=True))
        month = int(value.get("m", "0"))
        day = int(value["d"]) if "d" in value else None
        if 1 <= month <= 12 and (day is None or 1 <= day <= 31):
            if day is None:  # "my" / "ym": "July twenty twelve"
                return f"{MONTHS[month - 1]} {year(value['y'])}" if "y" in value else ""
            return date_words(month, day, value.get("y"), day_first=fmt.index("d") < fmt.index("m"))
        if fmt == "y":
            return year(parts[0])
    order = DateOrder.DMY if fmt.startswith("d") else DateOrder.MDY if fmt else DateOrder.AUTO
    return normalize(text, order)


def say_as(text: str, interpret_as: str, date_format: str | None, normalize: Normalize) -> str:
    """Words for ``text`` read as ``interpret_as``; ``normalize(text, date_order)`` reads it
    as ordinary text where the kind does not apply (then a warning says so)."""
    kind = interpret_as.strip().lower()
    if kind in ("characters", "spell-out"):
        return spell(text)
    if kind == "digits":
        return digits("".join(c for c in text if c.isdigit() and c.isascii()))
    if kind == "telephone":
        return telephone_words(text)
    if kind in ("cardinal", "number", "ordinal"):
        words = _number(text, ordinal if kind == "ordinal" else cardinal)
        if words is not None:
            return words
    elif kind == "date":
        return final_cleanup(_date(text, date_format, normalize))
    elif kind == "time":
        return normalize(text, DateOrder.AUTO)
    logger.warning(
        "say-as interpret-as=%r does not apply to %r; read as ordinary text (known: %s)",
        interpret_as,
        text[:40],
        ", ".join(INTERPRETATIONS),
    )
    return normalize(text, DateOrder.AUTO)


__all__ = ["INTERPRETATIONS", "say_as"]
