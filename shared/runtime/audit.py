"""Auditing a full read of personal data from a service other than intake: a
`personal-data-read` event in the reading service's outbox, committed before the
answer is sent, so the read is on intake's one audit trail even if this service
dies right after answering."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from ..auth import Principal
from ..events.contract import PersonalDataRead
from ..events.envelope import new_event
from .store import append_many


async def audit_full_read(conn: asyncpg.Connection, principal: Principal, customer_id: uuid.UUID, what: str,
                          now: datetime, producer: str = "analytics") -> None:
    await audit_full_reads(conn, principal, [customer_id], what, now, producer)


async def audit_full_reads(conn: asyncpg.Connection, principal: Principal, customer_ids: Sequence[uuid.UUID],
                           what: str, now: datetime, producer: str = "analytics") -> None:
    """One read of several customers' personal data (a report listing their names): one event per
    customer, in a fixed number of statements however many they are (one round trip each made a
    Pareto ranking of 1,000 named customers take seconds)."""
    if not customer_ids:
        return
    read = PersonalDataRead(subject=principal.subject, role=principal.role, what=what, read_at=now)
    async with conn.transaction():
        await append_many(conn, [(f"audit-{customer_id}", new_event(read, customer_id=customer_id, producer=producer,
                                                                    occurred_at=now, now=now))
                                 for customer_id in customer_ids])
