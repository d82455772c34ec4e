"""Complaint cases in PostgreSQL; every step is published as `complaint-updated`."""
from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from shared.events.envelope import Envelope

from . import task_store
from .domain import ComplaintCase, ComplaintStatus, Deadline, complaint_updated

_UPSERT = """
insert into complaint_cases (complaint_id, customer_id, status, owner_id, severity, acknowledge_due, resolve_due,
                             escalated, data, filed_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)
on conflict (complaint_id) do update set customer_id = excluded.customer_id, status = excluded.status,
    owner_id = excluded.owner_id, escalated = excluded.escalated, data = excluded.data"""


def _case(row: asyncpg.Record) -> ComplaintCase:
    return ComplaintCase.model_validate_json(row["data"])


async def get(conn: asyncpg.Connection, complaint_id: uuid.UUID, *, lock: bool = False) -> ComplaintCase | None:
    row = await conn.fetchrow("select data::text as data from complaint_cases where complaint_id = $1"
                              + (" for update" if lock else ""), complaint_id)
    return None if row is None else _case(row)


async def of_customer(conn: asyncpg.Connection, customer_id: uuid.UUID) -> list[ComplaintCase]:
    rows = await conn.fetch("select data::text as data from complaint_cases where customer_id = $1 "
                            "order by filed_at for update", customer_id)
    return [_case(r) for r in rows]


async def save(conn: asyncpg.Connection, case: ComplaintCase) -> None:
    escalated = case.acknowledge_escalated_at is not None or case.resolve_escalated_at is not None
    await conn.execute(_UPSERT, case.complaint_id, case.customer_id, case.status.value, case.owner_id,
                       case.severity.value, case.acknowledge_due, case.resolve_due, escalated,
                       case.model_dump_json(), case.filed_at)


async def record(conn: asyncpg.Connection, case: ComplaintCase, now: datetime, *,
                 escalated: Deadline | None = None, causation: Envelope | None = None) -> None:
    """Store the case and publish its step (or the escalation of a breached deadline)."""
    await save(conn, case)
    await task_store.emit(conn, f"complaint-{case.complaint_id}", complaint_updated(case, now, escalated),
                          customer_id=case.customer_id, now=now, causation=causation)


async def file(conn: asyncpg.Connection, case: ComplaintCase, now: datetime, causation: Envelope) -> bool:
    """Open the case once (a redelivered `complaint-filed` finds it there)."""
    if await get(conn, case.complaint_id) is not None:
        return False
    await record(conn, case, now, causation=causation)
    return True


def as_json(case: ComplaintCase, now: datetime) -> dict:
    body = case.model_dump(mode="json", exclude={"description"})
    body["open"] = case.status in (ComplaintStatus.FILED, ComplaintStatus.ACKNOWLEDGED)
    body["breached"] = [d.value for d in Deadline
                        if (case.met_at(d) or now) > case.due(d)]
    return body
