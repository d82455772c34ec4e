"""The fold keeps an instant already written as a UTC ISO string as it is, and writes one with "Z" for
"+00:00" (as pydantic writes it) without a time zone conversion (state._as_utc_iso): that must be
exactly what parsing and writing it again gives, for any string, corrupted ones included."""
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from services.analytics.domain.state import _iso


def reparsed(text: str) -> str:
    """_iso as it was before the shortcut: parse, then write as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()


instants = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                        timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5))]))
written = instants.map(lambda d: d.astimezone(UTC).isoformat())
with_z = written.map(lambda t: t.replace("+00:00", "Z"))
# a written instant with one character replaced: digits out of range, other digits (fullwidth too), letters
swapped = st.tuples(st.one_of(written, with_z), st.integers(0, 31), st.sampled_from("0123456789:T+-. Zz\u0662\uff19x")).map(
    lambda t: t[0][:t[1]] + t[2] + t[0][t[1] + 1:])

# written with a zero fraction, as isoformat never writes it
zero_fraction = instants.map(lambda d: d.replace(microsecond=0).astimezone(UTC).isoformat()).map(
    lambda t: t[:19] + ".000000" + t[19:])


@given(st.one_of(written, with_z, swapped, zero_fraction, zero_fraction.map(lambda t: t.replace("+00:00", "Z")), instants.map(datetime.isoformat), st.text(max_size=40)))
def test_an_instant_kept_as_written_is_what_reparsing_gives(text):
    assert _iso(text) == reparsed(text)
