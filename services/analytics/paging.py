"""Paging of row lists (reports' rows, the 360's history): `limit` and an opaque `cursor`; an answer
tells `next_cursor` and `has_more`.

A cursor is the position after the last row given, for one list: base64url of a small JSON
object. It is opaque to clients; one that does not decode, names another list or a position
that makes no sense is refused with a 422 naming `cursor` (it never reaches a query).
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from shared.errors import DomainValidationError

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
MAX_OFFSET = 10_000_000


@dataclass(frozen=True)
class Page:
    """Rows [offset, offset + limit) of one list; `limit` None: every row from offset."""

    scope: str
    offset: int = 0
    limit: int | None = None

    def info(self, total: int) -> dict[str, Any]:
        """`next_cursor` / `has_more` for a list of `total` rows."""
        end = total if self.limit is None else min(total, self.offset + self.limit)
        more = end < total
        return {"next_cursor": encode(self.scope, end) if more else None, "has_more": more}

    def slice(self, items: list) -> list:
        return items[self.offset:] if self.limit is None else items[self.offset:self.offset + self.limit]


def encode(scope: str, offset: int) -> str:
    raw = json.dumps({"l": scope, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, scope: str, field: str = "cursor") -> int:
    """The position a cursor points at, for the list `scope`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
        offset = body["o"]
        ok = body.get("l") == scope and type(offset) is int and 0 <= offset <= MAX_OFFSET
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise DomainValidationError("the cursor is not one this list gave out (use next_cursor as it came)",
                                    field=field, location="query")
    return offset


def page(scope: str, limit: int | None, cursor: str | None, field: str = "cursor") -> Page:
    return Page(scope, decode(cursor, scope, field) if cursor else 0, limit)
