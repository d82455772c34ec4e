"""JSON read and written fast (orjson) and exactly (the standard library where orjson is not exact).

orjson refuses to write an integer beyond 64 bits and, worse, reads one as a float without a word;
it refuses NaN and the infinities both ways. Every hot path that stores or reads event data goes
through here, so the edge cases are decided once.
"""
from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_NUMBER = re.compile(rb"\d{19}")


def loads(text: str | bytes) -> Any:
    """The value `text` holds, as the standard library would read it. orjson, except where 19 digits
    in a row may be an integer beyond 64 bits, or where orjson refuses (NaN, an escaped lone surrogate)."""
    raw = text.encode() if isinstance(text, str) else text
    if _LONG_NUMBER.search(raw) is None:
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
