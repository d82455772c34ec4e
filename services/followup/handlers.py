"""Follow-up's event handlers: grades become work items."""
from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from shared.events.envelope import new_event
from shared.events.contract import ProspectGraded, TaskScheduled
from shared.runtime.consumer import Inbound
from shared.runtime.store import append

SERVICE = "followup"
FIRST_CONTACT_WITHIN = timedelta(days=1)
UNASSIGNED = "unassigned"


async def on_prospect_graded(conn: asyncpg.Connection, inbound: Inbound) -> None:
    graded: ProspectGraded = inbound.payload  # type: ignore[assignment]
    envelope = inbound.envelope
    if await conn.fetchval("select 1 from tasks where customer_id = $1 and status = 'open'", envelope.customer_id):
        return
    task_id = uuid.uuid5(envelope.event_id, "first_contact")
    due = envelope.occurred_at + FIRST_CONTACT_WITHIN
    owner = graded.consultant_id or UNASSIGNED
    await conn.execute(
        """insert into tasks (task_id, customer_id, kind, owner_id, due_at, grade, cause_event_id, created_at)
           values ($1, $2, 'first_contact', $3, $4, $5, $6, $7)""",
        task_id, envelope.customer_id, owner, due, graded.grade.value, envelope.event_id, envelope.occurred_at,
    )
    scheduled = TaskScheduled(task_id=task_id, kind="first_contact", owner_id=owner, due_at=due,
                              grade=graded.grade)
    await append(conn, f"task-{task_id}", [
        new_event(scheduled, customer_id=envelope.customer_id, producer=SERVICE,
                  occurred_at=envelope.occurred_at, causation=envelope),
    ], expected_version=0)
