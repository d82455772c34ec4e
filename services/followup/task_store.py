"""Tasks in PostgreSQL: the whole domain task as JSON, with columns for the queries.

Every change goes through `record_changes`/`schedule`, which store the task and
append its event to the outbox in the caller's transaction:
created, moved or reassigned -> task-scheduled; done -> followup-logged;
cancelled or marked overdue -> task-closed; escalated -> task-escalated.
Rows are locked (`for update`) before a transition, so two writers of one
task serialise and the second sees the first's result.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import asyncpg

from shared.events.contract import TaskEscalated
from shared.events.envelope import Envelope, EventPayload, new_event
from shared.runtime.store import append

from .domain import (
    FollowUpTask,
    TaskChange,
    TaskStatus,
    followup_logged,
    task_closed,
    task_scheduled,
)

SERVICE = "followup"
PENDING = ("open", "overdue")
_UPSERT = """
insert into tasks (task_id, customer_id, kind, owner_id, status, due_at, grade, marketing, cause_event_id,
                   created_at, closed_at, escalated_at, data)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb)
on conflict (task_id) do update set customer_id = excluded.customer_id, owner_id = excluded.owner_id,
    status = excluded.status, due_at = excluded.due_at, grade = excluded.grade, closed_at = excluded.closed_at,
    escalated_at = excluded.escalated_at, data = excluded.data"""


def _row_task(row: asyncpg.Record) -> FollowUpTask:
    return FollowUpTask.model_validate_json(row["data"])


async def get(conn: asyncpg.Connection, task_id: uuid.UUID, *, lock: bool = False) -> FollowUpTask | None:
    row = await conn.fetchrow("select data::text as data from tasks where task_id = $1"
                              + (" for update" if lock else ""), task_id)
    return None if row is None else _row_task(row)


async def of_customer(conn: asyncpg.Connection, customer_id: uuid.UUID, *, pending_only: bool = True,
                      lock: bool = True) -> list[FollowUpTask]:
    sql = "select data::text as data from tasks where customer_id = $1"
    if pending_only:
        sql += " and status in ('open', 'overdue')"
    sql += " order by due_at, task_id" + (" for update" if lock else "")
    return [_row_task(r) for r in await conn.fetch(sql, customer_id)]


async def exists(conn: asyncpg.Connection, task_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    rows = await conn.fetch("select task_id from tasks where task_id = any($1)", list(task_ids))
    return {r["task_id"] for r in rows}


# A batch sends each task once, as its JSON; the columns (those `_columns` gives `save`) are read from it.
_INSERT_NEW = """
insert into tasks (task_id, customer_id, kind, owner_id, status, due_at, grade, marketing, cause_event_id,
                   created_at, closed_at, escalated_at, data)
select (d->>'task_id')::uuid, (d->>'customer_id')::uuid, d->>'kind', d->>'owner_id', d->>'status',
       (d->>'due_at')::timestamptz, d->>'grade', (d->>'marketing')::bool, (d->>'cause_id')::uuid,
       (d->>'created_at')::timestamptz, coalesce((d->>'completed_at')::timestamptz, (d->>'cancelled_at')::timestamptz),
       (d->>'escalated_at')::timestamptz, d
from unnest($1::jsonb[]) as t(d)
on conflict (task_id) do nothing
returning task_id"""


def _columns(task: FollowUpTask) -> tuple:
    closed_at = task.completed_at or task.cancelled_at
    return (task.task_id, task.customer_id, task.kind.value, task.owner_id, task.status.value, task.due_at,
            task.grade.value if task.grade else None, task.marketing, task.cause_id, task.created_at, closed_at,
            task.escalated_at, task.model_dump_json())


async def save(conn: asyncpg.Connection, task: FollowUpTask) -> None:
    await conn.execute(_UPSERT, *_columns(task))


async def insert_new(conn: asyncpg.Connection, tasks: list[FollowUpTask]) -> set[uuid.UUID]:
    """Store these tasks, except those whose id exists, in one statement; returns the ids stored."""
    if not tasks:
        return set()
    return {r["task_id"] for r in await conn.fetch(_INSERT_NEW, [t.model_dump_json() for t in tasks])}


_SAVE_MANY = """
insert into tasks (task_id, customer_id, kind, owner_id, status, due_at, grade, marketing, cause_event_id,
                   created_at, closed_at, escalated_at, data)
select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[],
                     $8::bool[], $9::uuid[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::jsonb[])
on conflict (task_id) do update set customer_id = excluded.customer_id, owner_id = excluded.owner_id,
    status = excluded.status, due_at = excluded.due_at, grade = excluded.grade, closed_at = excluded.closed_at,
    escalated_at = excluded.escalated_at, data = excluded.data"""


async def save_many(conn: asyncpg.Connection, tasks: list[FollowUpTask]) -> None:
    """`save` of many tasks in one statement (each task once: its last state)."""
    last = {t.task_id: t for t in tasks}
    if last:
        columns = list(zip(*(_columns(t) for t in last.values()), strict=True))
        await conn.execute(_SAVE_MANY, *(list(c) for c in columns))


def outgoing(payload: EventPayload, *, customer_id: uuid.UUID, now: datetime, causation: Envelope | None = None,
             occurred_at: datetime | None = None) -> Envelope:
    """An event of follow-up's; `occurred_at`: when it happened in the business, when not now."""
    return new_event(payload, customer_id=customer_id, producer=SERVICE, occurred_at=occurred_at or now,
                     causation=causation, now=now)


async def emit(conn: asyncpg.Connection, stream: str, payload: EventPayload, *, customer_id: uuid.UUID,
               now: datetime, causation: Envelope | None = None, occurred_at: datetime | None = None) -> Envelope:
    """Append one event of follow-up's to the outbox (same transaction as the state change);
    `occurred_at`: when it happened in the business, when not now (a deal's close day)."""
    event = outgoing(payload, customer_id=customer_id, now=now, causation=causation, occurred_at=occurred_at)
    await append(conn, stream, [event])
    return event


def event_of(task: FollowUpTask) -> EventPayload:
    if task.status == TaskStatus.DONE:
        return followup_logged(task)
    if task.status == TaskStatus.CANCELLED:
        return task_closed(task)
    return task_scheduled(task)


async def schedule(conn: asyncpg.Connection, tasks: Iterable[FollowUpTask], now: datetime,
                   causation: Envelope | None = None) -> list[FollowUpTask]:
    """Store the tasks that do not exist yet (by deterministic id); returns those created."""
    wanted = list(tasks)
    known = await exists(conn, [t.task_id for t in wanted])
    created = []
    for task in wanted:
        if task.task_id in known:
            continue
        known.add(task.task_id)
        await save(conn, task)
        await emit(conn, f"task-{task.task_id}", task_scheduled(task), customer_id=task.customer_id, now=now,
                   causation=causation)
        created.append(task)
    return created


async def record_changes(conn: asyncpg.Connection, changes: Iterable[TaskChange], now: datetime,
                         causation: Envelope | None = None) -> list[FollowUpTask]:
    """Store each changed task and publish what happened to it."""
    out = []
    for change in changes:
        if not change.changed:
            continue
        task = change.task
        await save(conn, task)
        await emit(conn, f"task-{task.task_id}", event_of(task), customer_id=task.customer_id, now=now,
                   causation=causation, occurred_at=task.completed_at)  # a follow-up happened when it was done
        out.append(task)
    return out


async def mark_overdue(conn: asyncpg.Connection, change: TaskChange, now: datetime) -> None:
    if change.changed:
        await save(conn, change.task)
        await emit(conn, f"task-{change.task.task_id}", task_closed(change.task), customer_id=change.task.customer_id,
                   now=now)


async def mark_escalated(conn: asyncpg.Connection, change: TaskChange, now: datetime) -> None:
    if not change.changed:
        return
    task = change.task
    await save(conn, task)
    payload = TaskEscalated(task_id=task.task_id, kind=task.kind.value, owner_id=task.owner_id, due_at=task.due_at,
                            late_hours=int((now - task.due_at).total_seconds() // 3600), escalated_at=now)
    await emit(conn, f"task-{task.task_id}", payload, customer_id=task.customer_id, now=now)


TASK_ORDER = (datetime, uuid.UUID)  # a task list's order: (due_at, task_id)


async def listed(conn: asyncpg.Connection, *, statuses: list[str], owner_id: str | None,
                 customer_id: uuid.UUID | None, kind: str | None, owners: list[str] | None,
                 after: tuple | None, limit: int) -> list[FollowUpTask]:
    """Tasks by the list's filters (`owners`: the caller's reach, None: everybody's), in (due_at, task_id)
    order, after the position `after` (None: from the start); `limit` rows at most."""
    rows = await conn.fetch(
        """select data::text as data from tasks where status = any($1) and ($2::text is null or owner_id = $2)
           and ($3::uuid is null or customer_id = $3) and ($4::text is null or kind = $4)
           and ($5::text[] is null or owner_id = any($5))
           and ($6::timestamptz is null or (due_at, task_id) > ($6, $7::uuid))
           order by due_at, task_id limit $8""",
        statuses, owner_id, customer_id, kind, owners, after[0] if after else None, after[1] if after else None,
        limit)
    return [_row_task(r) for r in rows]
