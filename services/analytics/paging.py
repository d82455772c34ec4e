"""Paging of report row lists and the 360's history: `limit` and an opaque `cursor`; an answer
tells `next_cursor` and `has_more`.

Report rows are aggregates without a key of their own, so a page here is a position (an offset)
in the list's fixed order; the token itself is shared.paging's (one cursor format, one refusal:
a 422 naming the cursor's parameter, before any query runs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import DomainValidationError
from shared.paging import decode_cursor, encode_cursor

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
    return encode_cursor([offset], {"list": scope})


def decode(cursor: str, scope: str, field: str = "cursor") -> int:
    """The position a cursor points at, for the list `scope`."""
    (offset,) = decode_cursor(cursor, [int], {"list": scope}, field=field)
    if not 0 <= offset <= MAX_OFFSET:
        raise DomainValidationError("the cursor points outside the list (use next_cursor as it came)",
                                    field=field, location="query")
    return offset


def page(scope: str, limit: int | None, cursor: str | None, field: str = "cursor") -> Page:
    return Page(scope, decode(cursor, scope, field) if cursor else 0, limit)
