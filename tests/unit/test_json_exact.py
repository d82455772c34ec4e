"""shared.json_exact reads what was written exactly (the fold's payloads, sealed values), numbers beyond
64 bits included, and writes what orjson refuses."""
import json
import re

from hypothesis import given
from hypothesis import strategies as st

from shared.json_exact import dumps, has_long_number, loads as _loads

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)


@given(st.dictionaries(st.text(max_size=8), JSON, max_size=4))
def test_a_payload_reads_back_as_written(payload):
    text = json.dumps(payload)
    assert json.dumps(_loads(text), sort_keys=True) == json.dumps(payload, sort_keys=True)


def test_integers_beyond_64_bits_stay_integers():
    for n in (2**63, -(2**63) - 1, 2**64, 10**30):
        assert _loads(json.dumps({"budget": n})) == {"budget": n}


def test_what_orjson_will_not_write_is_written_as_the_standard_library_writes_it():
    assert dumps({"budget": 2**70}) == json.dumps({"budget": 2**70})
    assert _loads(dumps({"budget": 2**70})) == {"budget": 2**70}
    assert dumps({1: "a"}) == json.dumps({1: "a"})


@given(st.text(alphabet=st.sampled_from("0123456789 .-e\"é٣{}"), max_size=60))
def test_the_long_number_check_is_the_regular_expression_it_replaced(text):
    raw = text.encode()
    assert has_long_number(raw) == (re.search(rb"[0-9]{19}", raw) is not None)


def test_a_number_of_19_digits_is_read_by_the_standard_library_whatever_surrounds_it():
    assert has_long_number("é9999999999999999999é".encode())
    assert not has_long_number(b"999999999-999999999")  # an id's digits, not a number
