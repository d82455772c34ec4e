"""`crm replay` rebuilds straight from the database with a progress bar; `crm demo` is registered."""
from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from crm.cli import app
from services.analytics.projection import load_states
from services.analytics.tests.history import History

from .test_projection_replay import feed


async def test_crm_replay_rebuilds_from_the_log(service_db):
    url, pool = await service_db("analytics")
    history = History(seed=21, customers=12)
    await feed(pool, history.events)
    async with pool.acquire() as conn:
        before = await load_states(conn)
        await conn.execute("delete from customer_facts")
    result = await asyncio.to_thread(CliRunner().invoke, app, ["replay", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "rebuilt 14 customers" in result.output
    async with pool.acquire() as conn:
        assert await load_states(conn) == before


def test_demo_command_is_registered():
    result = CliRunner().invoke(app, ["demo", "--help"])
    assert result.exit_code == 0 and "--customers" in result.output
