"""Analytics keeps every event it consumes (the log is what replay reads) and
refreshes the customer's projection row in the same transaction."""
from __future__ import annotations

import asyncpg

from shared.runtime.consumer import Inbound

from .projection import refresh


async def record_event(conn: asyncpg.Connection, inbound: Inbound) -> None:
    e = inbound.envelope
    inserted = await conn.fetchval(
        """insert into event_log (event_id, event_type, customer_id, occurred_at, envelope)
           values ($1, $2, $3, $4, $5::jsonb) on conflict (event_id) do nothing returning true""",
        e.event_id, e.event_type, e.customer_id, e.occurred_at, e.model_dump_json(),
    )
    if inserted:
        await refresh(conn, [str(e.customer_id)])
