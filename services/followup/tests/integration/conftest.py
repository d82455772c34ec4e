"""Fixtures of follow-up's integration tests (the session stack comes from tests/support/fixtures.py)."""
import pytest

from tests.support.fixtures import set_clock_offset


@pytest.fixture
def clock(stack):
    """Move the running services' clock; restored to 0 at the end of the test."""
    try:
        yield lambda seconds: set_clock_offset(stack, seconds)
    finally:
        set_clock_offset(stack, 0)
