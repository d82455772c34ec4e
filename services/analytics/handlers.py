"""Analytics keeps every event it consumes (the log is what replay reads) and
refreshes each touched customer's projection row once per batch, in the same
transaction (a batch of 200 events often touches far fewer customers).

The log keeps each envelope as sent: personal fields sealed with the customer's
key, opened only when a projection is folded (projection.load_events). When a
customer is erased their key is gone, so the refresh that follows — and any
later replay — folds them without personal data; events logged before sealing
existed are redacted in the log."""
from __future__ import annotations

import asyncpg

from shared.events.contract import CustomerErased
from shared.events.topics import CUSTOMER_TOPICS
from shared.runtime import ownership
from shared.runtime.consumer import Inbound
from shared.runtime.store import redact_plaintext

from .projection import refresh


async def record_event(conn: asyncpg.Connection, inbound: Inbound) -> None:
    e = inbound.envelope
    await conn.execute(
        """insert into event_log (event_id, event_type, customer_id, occurred_at, envelope)
           values ($1, $2, $3, $4, $5::jsonb) on conflict (event_id) do nothing""",
        e.event_id, e.event_type, e.customer_id, e.occurred_at, e.model_dump_json(),
    )
    if isinstance(inbound.payload, CustomerErased):
        await redact_plaintext(conn, [e.customer_id, *inbound.payload.merged_customer_ids], table="event_log")


async def record_assignment(conn: asyncpg.Connection, inbound: Inbound) -> None:
    """The owner follow-up decided: logged (the 360's owner and its history) and kept as the owner
    every access decision here reads."""
    await record_event(conn, inbound)
    await ownership.record_assignment(conn, inbound)


async def refresh_customers(conn: asyncpg.Connection, applied: list[Inbound]) -> None:
    ids = {str(i.envelope.customer_id) for i in applied if i.envelope.event_type in CUSTOMER_TOPICS}
    for i in applied:  # an erasure reaches the records merged into the customer too (their keys are gone)
        if isinstance(i.payload, CustomerErased):
            ids |= {str(m) for m in i.payload.merged_customer_ids}
    await refresh(conn, ids)


async def apply_event(conn: asyncpg.Connection, inbound: Inbound) -> None:
    """One event as the consumer applies a batch of one: logged, then its customer refreshed."""
    await record_event(conn, inbound)
    await refresh_customers(conn, [inbound])
