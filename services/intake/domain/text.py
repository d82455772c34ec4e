"""Text hygiene for every string that comes in: strip, bound, no control characters.

Blank optional strings (``""``, whitespace only) become ``None``, so a web form or
a spreadsheet cell left empty means "not given" rather than an error.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

# Bidirectional overrides/isolates can disguise text ("Trojan Source"); never allowed.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_MULTILINE_ALLOWED = frozenset("\n\t")
# Every character the check below may refuse: the bidi controls and the categories Cc (U+0000-001F,
# U+007F-009F), Cs (U+D800-DFFF), Zl (U+2028) and Zp (U+2029), which Unicode keeps fixed. Text without
# any (nearly all text) skips the character-by-character check: one scan in C instead.
_MAYBE_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
                            + "".join(sorted(_BIDI_CONTROLS)) + "]")


def clean_text(value: Any, *, multiline: bool = False) -> Any:
    """Strip, NFC-normalise and reject control characters; non-strings pass through."""
    if not isinstance(value, str):
        return value
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    if not _MAYBE_REFUSED.search(text):
        return text
    allowed = _MULTILINE_ALLOWED if multiline else frozenset()
    for ch in text:
        if ch in allowed:
            continue
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            raise PydanticCustomError(
                "control_character",
                f"must not contain control characters (found U+{ord(ch):04X})",
            )
    return text


def _blank_to_none(value: Any, *, multiline: bool = False) -> Any:
    text = clean_text(value, multiline=multiline)
    if isinstance(text, str) and text == "":
        return None
    return text


def _single_line(value: Any) -> Any:
    return clean_text(value)


def _multi_line(value: Any) -> Any:
    return clean_text(value, multiline=True)


def _opt_single_line(value: Any) -> Any:
    return _blank_to_none(value)


def _opt_multi_line(value: Any) -> Any:
    return _blank_to_none(value, multiline=True)


# Required strings (blank is an error: min_length=1).
Name = Annotated[str, StringConstraints(min_length=1, max_length=100), BeforeValidator(_single_line)]
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=200), BeforeValidator(_single_line)
]
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$"),
    BeforeValidator(_single_line),
]
LongText = Annotated[
    str, StringConstraints(min_length=1, max_length=2000), BeforeValidator(_multi_line)
]
Description = Annotated[
    str, StringConstraints(min_length=1, max_length=5000), BeforeValidator(_multi_line)
]

# Optional strings: blank means not given.
OptName = Annotated[Name | None, BeforeValidator(_opt_single_line)]
OptShortText = Annotated[ShortText | None, BeforeValidator(_opt_single_line)]
OptIdentifier = Annotated[Identifier | None, BeforeValidator(_opt_single_line)]
OptLongText = Annotated[LongText | None, BeforeValidator(_opt_multi_line)]
