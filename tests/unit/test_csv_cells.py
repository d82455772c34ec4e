"""CSV cells neutralised (OWASP CSV injection): formulas become text, numbers stay numbers."""
import csv
import io
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.csv_cells import FORMULA_STARTS, neutral_cell, writer


def test_formula_looking_text_gets_a_leading_quote():
    for text in ('=HYPERLINK("x")', "+SUM(1,1)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx", "-", "+"):
        assert neutral_cell(text) == "'" + text


def test_numbers_and_plain_text_stay_as_they_are():
    for value in (12, -3, 1.5, -2.25, Decimal("-12.50"), "-12.50", "+3", "1e5", "-.5", "王芳", "a=b", "", None, True):
        assert neutral_cell(value) == value


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12) | st.from_regex(r"[=+@-].*"))
def test_a_written_cell_never_starts_a_formula_unless_it_is_a_number(text):
    out = io.StringIO(newline="")
    writer(out).writerow([text, 7])
    cell = next(csv.reader(io.StringIO(out.getvalue(), newline="")))[0]
    if cell == text:
        assert not text.startswith(FORMULA_STARTS) or set(text) <= set("+-.0123456789eE")
    else:
        assert cell == "'" + text and text.startswith(FORMULA_STARTS)
