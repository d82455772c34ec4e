"""Analytics keeps every event it consumes (the log is what replay reads) and folds each touched
customer into the read model. The consumer's `after_batch` step (`log_and_mark`) logs the batch's
events with one statement and marks the customers they touch; the folder (folding.py) folds the
marked customers, once for all the batches that touched them since it last looked, with a fixed
number of statements whatever their number (projection.refresh). Per message there is nothing
left to do: the owners `customer-assigned` names are kept, for every access decision here, by
shared.runtime.ownership's batch handler (and, by the batch step, logged: the 360's owner and its
history).

The log keeps each envelope as sent: personal fields sealed with the customer's
key, opened only when a projection is folded (projection.load_events). When a
customer is erased their key is gone, so the refresh that follows — and any
later replay — folds them without personal data; events logged before sealing
existed are redacted in the log."""
from __future__ import annotations

import asyncpg

from shared.events.contract import CustomerErased
from shared.events.topics import CUSTOMER_TOPICS
from shared.runtime.consumer import Inbound
from shared.runtime.store import redact_plaintext

from . import folding
from .projection import refresh


async def record_event(conn: asyncpg.Connection, inbound: Inbound) -> None:
    """A customer's event: logged and folded by the batch step (`log_and_refresh`), not one by one."""


async def _log(conn: asyncpg.Connection, applied: list[Inbound]) -> tuple[set[str], set[str]]:
    """The batch's customer events into the log (one statement) and erased customers' plaintext
    redacted; returns the customers touched, and those of them erased (with their merged records)."""
    logged = [i for i in applied if i.envelope is not None and i.envelope.event_type in CUSTOMER_TOPICS]
    if logged:
        await conn.execute(
            """insert into event_log (event_id, event_type, customer_id, occurred_at, envelope)
               select * from unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::jsonb[])
               on conflict (event_id) do nothing""",
            [i.envelope.event_id for i in logged], [i.envelope.event_type for i in logged],
            [i.envelope.customer_id for i in logged], [i.envelope.occurred_at for i in logged],
            [i.envelope.model_dump_json() for i in logged])
    erased: set[str] = set()
    for i in (i for i in logged if isinstance(i.payload, CustomerErased)):
        # rare; an erasure reaches the records merged into the customer too (their keys are gone)
        await redact_plaintext(conn, [i.envelope.customer_id, *i.payload.merged_customer_ids], table="event_log")
        erased |= {str(i.envelope.customer_id), *(str(m) for m in i.payload.merged_customer_ids)}
    return {str(i.envelope.customer_id) for i in logged} | erased, erased


async def log_and_mark(conn: asyncpg.Connection, applied: list[Inbound]) -> None:
    """The consumer's after_batch: the batch logged, its customers marked for the folder
    (folding.py). An erased customer is folded here, in the erasure's transaction: the read
    model holds no plaintext of theirs once the erasure is applied."""
    touched, erased = await _log(conn, applied)
    if touched - erased:
        await folding.mark(conn, touched - erased)
    if erased:
        await refresh(conn, erased)


async def log_and_refresh(conn: asyncpg.Connection, applied: list[Inbound]) -> None:
    """The batch logged and every customer it touched folded at once, in the same transaction
    (tests and tools that apply events directly; the service folds through `log_and_mark`)."""
    touched, _ = await _log(conn, applied)
    await refresh(conn, touched)


async def apply_event(conn: asyncpg.Connection, inbound: Inbound) -> None:
    """One event as the consumer applies a batch of one."""
    await log_and_refresh(conn, [inbound])
