"""JSON read and written fast (orjson) and exactly (the standard library where orjson is not exact).

orjson refuses to write an integer beyond 64 bits and, worse, reads one as a float without a word;
it refuses NaN and the infinities both ways. Every hot path that stores or reads event data goes
through here, so the edge cases are decided once.
"""
from __future__ import annotations

import json
from typing import Any

import orjson

# 19 digits in a row, found as a run of 19 zeros once every ASCII digit reads "0" and every other
# byte " ": bytes.translate and a substring search are C loops, five times faster than the regular
# expression `[0-9]{19}` on an event's payload (whose ids and instants are full of digits). UTF-8 puts
# no ASCII digit inside a multi-byte character, so the two agree on every text.
_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_NUMBER = b"0" * 19


def has_long_number(raw: bytes) -> bool:
    """Whether `raw` holds 19 ASCII digits in a row (a number orjson may read inexactly)."""
    return _LONG_NUMBER in raw.translate(_DIGITS_AS_ZEROS)


def loads(text: str | bytes) -> Any:
    """The value `text` holds, as the standard library would read it. orjson, except where 19 digits
    in a row may be an integer beyond 64 bits, or where orjson refuses (NaN, an escaped lone surrogate)."""
    raw = text.encode() if isinstance(text, str) else text
    if not has_long_number(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw)


def dumps(value: Any) -> str:
    """`value` as JSON text (read back with `loads`, json.loads or as jsonb); the standard library's
    text where orjson refuses (an integer beyond 64 bits, a key that is not text)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)
