"""The cursor helper (shared/paging.py): a cursor gives back the position it was made from, only for
its own list and filters; anything else is a 422 naming `cursor`, never another exception."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import DomainValidationError
from shared.paging import cut, decode_cursor, encode_cursor

KINDS = (datetime, uuid.UUID, str, int, date)
MOMENTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 1, 1),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]))
POSITIONS = st.tuples(MOMENTS, st.uuids(), st.text(), st.integers(-2**63, 2**63), st.dates())
SCOPES = st.dictionaries(st.text(max_size=5), st.one_of(st.none(), st.text(max_size=5), st.integers()), max_size=3)


@given(position=POSITIONS, scope=SCOPES)
def test_a_cursor_gives_back_its_position(position, scope):
    token = encode_cursor(position, scope)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(token, KINDS, scope) == position


@given(position=POSITIONS, scope=SCOPES, other=SCOPES)
def test_a_cursor_of_other_filters_is_refused(position, scope, other):
    token = encode_cursor(position, scope)
    if other != scope:
        with pytest.raises(DomainValidationError) as refused:
            decode_cursor(token, KINDS, other)
        assert refused.value.field == "cursor" and refused.value.location == "query"


@given(token=st.text(max_size=200))
def test_any_text_is_a_position_or_a_422_naming_cursor(token):
    try:
        decode_cursor(token, KINDS, {})
    except DomainValidationError as exc:
        assert exc.field == "cursor"


def test_wrong_shapes_are_refused():
    scope = {"list": "tasks"}
    for position, kinds in (([1], (datetime,)), (["2026-01-01T00:00:00"], (datetime,)),  # no zone
                            (["x"], (uuid.UUID,)), ([True], (int,)), ([1, 2], (int,)), ([None], (int,))):
        with pytest.raises(DomainValidationError, match="cursor"):
            decode_cursor(encode_cursor(position, scope), kinds, scope)
    assert decode_cursor(encode_cursor([None, 3], scope), (int | None, int), scope) == (None, 3)
    assert decode_cursor(None, (int,), scope) is None


def test_cut_keeps_limit_rows_and_says_whether_more_follow():
    rows = list(range(5))
    page = cut(rows, 3, lambda r: (r,), {})
    assert page.rows == [0, 1, 2] and page.has_more and decode_cursor(page.next_cursor, (int,), {}) == (2,)
    last = cut(rows[:3], 3, lambda r: (r,), {})
    assert last.rows == [0, 1, 2] and not last.has_more and last.next_cursor is None
    assert last.links() == {"next_cursor": None, "has_more": False}
