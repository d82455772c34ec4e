"""Analytics keeps every event it consumes: projections are folds of this log."""
from __future__ import annotations

import asyncpg

from shared.runtime.consumer import Inbound


async def record_event(conn: asyncpg.Connection, inbound: Inbound) -> None:
    e = inbound.envelope
    await conn.execute(
        """insert into event_log (event_id, event_type, customer_id, occurred_at, envelope)
           values ($1, $2, $3, $4, $5::jsonb) on conflict (event_id) do nothing""",
        e.event_id, e.event_type, e.customer_id, e.occurred_at, e.model_dump_json(),
    )
