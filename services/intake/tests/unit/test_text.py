import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from services.intake.domain import text


def test_the_quick_scan_finds_exactly_the_characters_the_check_refuses():
    """Every code point: the regex that lets clean text skip the per-character check matches it
    exactly when the check would look at it (Cc, Cs, Zl, Zp and the bidi controls)."""
    for cp in range(0x110000):
        ch = chr(cp)
        refused = ch in text._BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")
        assert bool(text._MAYBE_REFUSED.match(ch)) == refused, hex(cp)


def _slow_clean(value: str, multiline: bool) -> str:
    """clean_text's rule spelled out character by character."""
    cleaned = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    allowed = "\n\t" if multiline else ""
    for ch in cleaned:
        if ch not in allowed and (ch in text._BIDI_CONTROLS
                                  or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")):
            raise PydanticCustomError("control_character", "x")
    return cleaned


@given(st.text(st.characters(codec=None, exclude_categories=())), st.booleans())
def test_clean_text_keeps_and_refuses_as_the_rule_says(value, multiline):
    try:
        expected = _slow_clean(value, multiline)
    except PydanticCustomError:
        with pytest.raises(PydanticCustomError):
            text.clean_text(value, multiline=multiline)
    else:
        assert text.clean_text(value, multiline=multiline) == expected
