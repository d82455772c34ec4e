"""Fixtures of follow-up's integration tests (the session stack comes from tests/support/fixtures.py)."""
import pytest

from tests.support.fixtures import fresh_database, set_clock_offset

ROSTER = {"c-1": True, "c-2": True, "c-3": False}  # c-3 is on the roster but inactive


@pytest.fixture
def clock(stack):
    """Move the running services' clock; restored to 0 at the end of the test."""
    try:
        yield lambda seconds: set_clock_offset(stack, seconds)
    finally:
        set_clock_offset(stack, 0)


@pytest.fixture(scope="module")
async def two_databases(postgres):
    """Two fresh follow-up databases with ROSTER on the roster: one for a batch path, one for its one-at-a-time twin."""
    pools = []
    for _ in range(2):
        _, pool = await fresh_database(postgres, "followup")
        await pool.executemany("insert into consultant_teams (consultant_id, team, active, changed_at) "
                               "values ($1, 'north', $2, now())", list(ROSTER.items()))
        pools.append(pool)
    yield pools
    for p in pools:
        await p.close()
