"""What the one search box means (services.intake.domain.search)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain.errors import DomainValidationError
from services.intake.domain.search import CustomerQuery, SearchBy, parse_query, prefix_upper_bound


@pytest.mark.parametrize(("raw", "expected"), [
    ("Wang.Fang@Example.COM", CustomerQuery(SearchBy.EMAIL, "wang.fang@example.com")),
    ("8000", CustomerQuery(SearchBy.PHONE, "8000")),
    ("138-0013-8000", CustomerQuery(SearchBy.PHONE, "8613800138000")),
    ("0086 138 0013 8000", CustomerQuery(SearchBy.PHONE, "8613800138000")),
    ("+86 13800138000", CustomerQuery(SearchBy.PHONE, "8613800138000")),
    ("１３８００１３８０００", CustomerQuery(SearchBy.PHONE, "8613800138000")),  # full-width
    ("0013 8000", CustomerQuery(SearchBy.PHONE, "00138000")),
    (" Wang Fa ", CustomerQuery(SearchBy.NAME, "wang fa")),
    ("王芳", CustomerQuery(SearchBy.NAME, "王芳")),
    ("O'Brien", CustomerQuery(SearchBy.NAME, "o'brien")),
])
def test_what_a_query_means(raw, expected):
    assert parse_query(raw) == expected


@pytest.mark.parametrize("raw", ["", "  ", "王", "800", "+86", "a@", "x" * 101, "wang\x00", "wa\nng"])
def test_what_cannot_be_searched_names_q(raw):
    with pytest.raises(DomainValidationError) as refused:
        parse_query(raw)
    assert refused.value.field == "q"


@given(st.text(max_size=120))
def test_any_text_is_a_query_or_a_422_naming_q(raw):
    try:
        query = parse_query(raw)
    except DomainValidationError as exc:
        assert exc.field == "q"
    else:
        assert query.term and (query.by is not SearchBy.PHONE or query.term.isdigit())


@given(prefix=st.text(min_size=1, max_size=5), rest=st.text(max_size=5), other=st.text(max_size=8))
def test_the_upper_bound_brackets_exactly_the_strings_with_the_prefix(prefix, rest, other):
    bound = prefix_upper_bound(prefix)
    key = lambda s: s.encode("utf-8", "surrogatepass")  # noqa: E731 - PostgreSQL's byte order
    assert bound is None or key(prefix) <= key(prefix + rest) < key(bound)
    inside = key(prefix) <= key(other) and (bound is None or key(other) < key(bound))
    assert inside == other.startswith(prefix)
