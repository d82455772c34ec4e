"""A row's digest (row_changes) tells rows apart exactly where their stored values differ (a column holds
values of one type: a day and its ISO text would digest alike)."""
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.analytics.row_changes import _digest

VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
                   st.decimals(allow_nan=False, allow_infinity=False, places=2), st.dates(),
                   st.datetimes(timezones=st.just(UTC)))


@given(st.tuples(VALUES, VALUES, VALUES), st.tuples(VALUES, VALUES, VALUES))
def test_rows_with_the_same_values_have_the_same_digest_and_others_another(a, b):
    same = all(type(x) is type(y) and x == y and str(x) == str(y) for x, y in zip(a, b))
    assert (_digest(a) == _digest(b)) == same


def test_what_a_row_can_hold_is_told_apart():
    assert _digest((Decimal("1.0"),)) != _digest((Decimal("1.00"),))  # the text a report shows differs
    assert _digest((True,)) != _digest((1,))
    assert _digest((2**70,)) == _digest((2**70,)) != _digest((2**70 + 1,))  # beyond 64 bits too
    assert _digest((datetime(2026, 1, 2, tzinfo=UTC),)) != _digest((date(2026, 1, 2),))
