"""Demo data on the running stack: `crm demo` through the public HTTP APIs, plus a generated
history fed to analytics' own consumer handler (so every report has data even where
another service's endpoints are not served yet; those events reach analytics only)."""
from __future__ import annotations

import asyncio

import pytest

from shared.events.registry import decode
from shared.events.topics import CUSTOMER_ASSIGNED
from shared.runtime import ownership

from services.analytics.demo import run_demo
from services.analytics.handlers import apply_event
from services.analytics.tests.history import History
from shared.runtime.consumer import Inbound


@pytest.fixture(scope="session")
async def demo_data(api):
    urls = {name: svc.url for name, svc in api.stack.services.items()}
    summary = await run_demo(urls, api.token(), customers=30, days=90, seed=4242)
    history = History(seed=17, customers=60)
    conn = await api.db("analytics")
    try:
        for e in history.events:
            async with conn.transaction():
                inbound = Inbound(e.event_id, e.customer_id, e, e.payload)
                await apply_event(conn, inbound)
                if e.event_type == CUSTOMER_ASSIGNED:  # the owner, as access here keeps it
                    await ownership.record_assignment(conn, Inbound(e.event_id, e.customer_id, e, decode(e)))
    finally:
        await conn.close()
    await asyncio.sleep(0.5)
    return {"summary": summary, "history": history}

