"""Complaint cases in PostgreSQL; every step is published as `complaint-updated`.

The remedy and the customer's survey comment are free text about the customer: the event
carries the remedy sealed (shared.pii_seal), a masked view shows neither (shared.masking),
and once the customer is erased neither is kept or published again."""
from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from shared.events.envelope import Envelope
from shared.masking import mask_personal
from shared.runtime import vault as vaults

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
    """Store the case and publish its step (or the escalation of a breached deadline). An erased
    customer's case goes on without its free text (the vault refuses to seal anything new for
    them): the handling, its dates and figures are kept, the remedy's words and the comment are not."""
    if (case.remedy is not None or case.survey_comment is not None) and await _erased(case.customer_id):
        case = case.model_copy(update={"remedy": None, "survey_comment": None})
    await save(conn, case)
    await task_store.emit(conn, f"complaint-{case.complaint_id}", complaint_updated(case, now, escalated),
                          customer_id=case.customer_id, now=now, causation=causation)


async def file(conn: asyncpg.Connection, case: ComplaintCase, now: datetime, causation: Envelope) -> bool:
    """Open the case once (a redelivered `complaint-filed` finds it there)."""
    if await get(conn, case.complaint_id) is not None:
        return False
    await record(conn, case, now, causation=causation)
    return True


async def _erased(customer_id: uuid.UUID) -> bool:
    vault = vaults.installed()  # none in a process without a vault (tests): nothing is sealed there either
    return vault is not None and bool(await vault.erased([customer_id]))


def as_json(case: ComplaintCase, now: datetime, *, full: bool = False) -> dict:
    """The case as the API shows it (never the customer's own description); `full`: the reader may
    see the customer's personal data (the caller's access decision), otherwise the free text about
    them (remedy, survey comment) is masked (shared.masking)."""
    body = case.model_dump(mode="json", exclude={"description"})
    body["open"] = case.status in (ComplaintStatus.FILED, ComplaintStatus.ACKNOWLEDGED)
    body["breached"] = [d.value for d in Deadline
                        if (case.met_at(d) or now) > case.due(d)]
    return mask_personal(body, full=full)


CASE_ORDER = (datetime, uuid.UUID)  # a case list's order: (resolve_due, complaint_id)


async def listed(conn: asyncpg.Connection, *, open_only: bool, escalated: bool | None, owner_id: str | None,
                 customer_id: uuid.UUID | None, owners: list[str] | None, after: tuple | None,
                 limit: int) -> list[ComplaintCase]:
    """Cases by the list's filters (`owners`: the caller's reach, None: everybody's), in (resolve_due,
    complaint_id) order, after the position `after` (None: from the start); `limit` rows at most."""
    rows = await conn.fetch(
        """select data::text as data from complaint_cases
           where (not $1 or status in ('filed', 'acknowledged')) and ($2::bool is null or escalated = $2)
             and ($3::text is null or owner_id = $3) and ($4::uuid is null or customer_id = $4)
             and ($5::text[] is null or owner_id = any($5))
             and ($6::timestamptz is null or (resolve_due, complaint_id) > ($6, $7::uuid))
           order by resolve_due, complaint_id limit $8""",
        open_only, escalated, owner_id, customer_id, owners, after[0] if after else None,
        after[1] if after else None, limit)
    return [_case(r) for r in rows]
