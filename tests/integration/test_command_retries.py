"""A command that loses a deadlock is run again, whole, and the client never sees it (issue #13)."""
import asyncio

import httpx
from fastapi import FastAPI, Request

from shared.auth import Principal
from shared.events.enums import Role
from shared.runtime.commands import run_command

ME = Principal("tester", Role.MANAGER)


def app_with(pool) -> tuple[FastAPI, list[str]]:
    app, attempts = FastAPI(), []
    app.state.pool = pool

    @app.post("/move/{first}/{second}")
    async def move(first: int, second: int, request: Request):
        async def work(conn):
            attempts.append(f"{first}->{second}")
            await conn.execute("update counters set n = n + 1 where id = $1", first)
            await asyncio.sleep(0.3)  # both now hold their first row: the second lock closes the cycle
            await conn.execute("update counters set n = n + 1 where id = $1", second)
            return 200, {"moved": [first, second]}

        return await run_command(request, ME, None, work)

    return app, attempts


async def test_two_commands_locking_in_opposite_order_both_succeed(service_db, reliability):
    _, pool = await service_db("intake")
    await pool.execute("create table counters (id int primary key, n int not null default 0)")
    await pool.execute("insert into counters (id) values (1), (2)")
    app, attempts = app_with(pool)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        a, b = await asyncio.gather(client.post("/move/1/2"), client.post("/move/2/1"))
    assert (a.status_code, b.status_code) == (200, 200), (a.text, b.text)
    assert len(attempts) == 3  # one of the two lost the deadlock and ran again
    counts = dict(await pool.fetch("select id, n from counters"))
    assert counts == {1: 2, 2: 2}  # the loser's first try left nothing behind
    reliability.record("two HTTP commands deadlocking on each other's rows", 1,
                       "both answered 200; the loser ran again whole, nothing applied twice")
