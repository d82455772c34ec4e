"""Cursor paging for every list the services answer (keyset paging on a stable order).

A list is read in a fixed order that ends in a unique column (e.g. `(due_at, task_id)`), and a
page is "the next `limit` rows after this position". The position of the last row shown goes back
to the client as `next_cursor`: an opaque token, base64url of a small JSON document holding the
position and a fingerprint of the query it belongs to. Keyset paging never skips or repeats a row
when rows are added or removed between two pages (offsets would), and costs the same on page 100
as on page 1.

A cursor is not a secret and not a permission: the query's filters and the caller's access are
applied to every page as to the first. A cursor that does not decode, does not fit the list or was
made for other filters is refused with a 422 naming `cursor`, never a 500.

Every list answer carries `next_cursor` (null on the last page) and `has_more` next to its rows,
which keep the resource's name (`tasks`, `complaints`, `customers`, ...): the lists that existed
before paging keep their shape for the clients that read them.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import types
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

from fastapi import Query
from pydantic import BaseModel, Field

from .errors import DomainValidationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CURSOR_LENGTH = 1000

R = TypeVar("R")

LIMIT_HELP = f"rows per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"
CURSOR_HELP = "`next_cursor` of the previous page, unchanged; absent for the first page"


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None


def page_request(
    limit: int = Query(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=LIMIT_HELP),
    cursor: str | None = Query(default=None, min_length=1, max_length=MAX_CURSOR_LENGTH, description=CURSOR_HELP),
) -> PageRequest:
    """The paging query parameters of a list route (FastAPI dependency): `limit` out of range is a
    422 naming `limit` before the route runs."""
    return PageRequest(limit=limit, cursor=cursor)


class Paged(BaseModel):
    """What every list answer carries next to its rows (a list's response model extends it)."""

    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
    has_more: bool = Field(description="true when rows follow this page")


# ------------------------------------------------------------------ the cursor token


def _fingerprint(scope: Mapping[str, Any]) -> str:
    """A short hash of the query a cursor belongs to (its filters and the list's name)."""
    text = json.dumps(scope, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode_cursor(position: Sequence[Any], scope: Mapping[str, Any]) -> str:
    """The token for "after `position`" in the list `scope` describes."""
    doc = {"p": [_plain(v) for v in position], "s": _fingerprint(scope)}
    raw = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _refused(why: str, field: str = "cursor") -> DomainValidationError:
    return DomainValidationError(f"not a cursor of this list ({why}); pass `next_cursor` of the previous page "
                                 "unchanged, or leave it out for the first page", field=field, location="query")


def _read(value: Any, kind: Any) -> Any:
    """One position value as `kind` (datetime, date, uuid.UUID, int, str, or `X | None`)."""
    if get_origin(kind) in (Union, types.UnionType):
        if value is None and type(None) in get_args(kind):
            return None
        (kind,) = [k for k in get_args(kind) if k is not type(None)]
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError
        return value
    if not isinstance(value, str):
        raise ValueError
    if kind is str:
        return value
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment
    if kind is date:
        return date.fromisoformat(value)
    raise TypeError(f"no cursor reading for {kind!r}")


def decode_cursor(cursor: str | None, kinds: Sequence[Any], scope: Mapping[str, Any],
                  field: str = "cursor") -> tuple | None:
    """The position a cursor holds (None: no cursor, the first page); 422 naming `field` for a
    token that is not one of this list's, for these filters."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _refused("unreadable", field) from None
    if not isinstance(doc, dict) or set(doc) != {"p", "s"} or not isinstance(doc["p"], list):
        raise _refused("unreadable", field)
    if doc["s"] != _fingerprint(scope):
        raise _refused("made for other filters", field)
    if len(doc["p"]) != len(kinds):
        raise _refused("wrong shape", field)
    try:
        return tuple(_read(v, k) for v, k in zip(doc["p"], kinds, strict=True))
    except (ValueError, TypeError, OverflowError):
        raise _refused("wrong shape", field) from None


# ------------------------------------------------------------------ cutting a page


@dataclass(frozen=True)
class Cut(Generic[R]):
    """The rows of one page, and how to go on."""

    rows: list[R]
    next_cursor: str | None
    has_more: bool

    def links(self) -> dict[str, Any]:
        """`next_cursor` and `has_more`, to put next to the rows in a list answer."""
        return {"next_cursor": self.next_cursor, "has_more": self.has_more}


def cut(rows: Sequence[R], limit: int, position_of: Callable[[R], Sequence[Any]],
        scope: Mapping[str, Any]) -> Cut[R]:
    """A page from `rows` read with `limit + 1` (the extra row only says that more follow)."""
    shown = list(rows[:limit])
    has_more = len(rows) > limit
    token = encode_cursor(position_of(shown[-1]), scope) if has_more and shown else None
    return Cut(rows=shown, next_cursor=token, has_more=has_more)


__all__ = [
    "CURSOR_HELP", "DEFAULT_LIMIT", "LIMIT_HELP", "MAX_LIMIT", "Cut", "PageRequest", "Paged", "cut",
    "decode_cursor", "encode_cursor", "page_request",
]
