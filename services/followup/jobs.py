"""Periodic jobs: the overdue check (mark, escalate) and customer care scheduling.

Each run is one transaction under an advisory lock (one replica at a time) and
leaves its marks on the rows it changed (status overdue, escalated_at,
*_escalated_at, deterministic care task ids), so a rerun, a restart or a second
replica finds nothing left to do: work is never doubled.
"""
from __future__ import annotations

import asyncpg
from fastapi import FastAPI

from shared.business_time import business_day
from shared.metrics import FOLLOWUP_TASKS

from . import complaint_store, roster, task_store
from .domain import (
    DEFAULT_POLICY,
    CareCustomer,
    ComplaintCase,
    EscalateComplaint,
    EscalateTask,
    FollowUpTask,
    MarkTaskOverdue,
    base_maintenance_tasks,
    care_tasks,
    care_window,
    mark_escalated,
    periodic_check,
)

BATCH = 500
_LATE_TASKS = """
select data::text as data from tasks
where status in ('open', 'overdue') and due_at < $1 and (status = 'open' or (escalated_at is null and due_at < $3))
order by due_at limit $2 for update skip locked"""
_LATE_CASES = """
select data::text as data from complaint_cases
where status in ('filed', 'acknowledged')
  and ((status = 'filed' and acknowledge_due < $1 and data->>'acknowledge_escalated_at' is null)
       or (resolve_due < $1 and data->>'resolve_escalated_at' is null))
order by resolve_due limit $2 for update skip locked"""


async def check_overdue(app: FastAPI) -> None:
    """Mark late tasks overdue, escalate long-late tasks and breached complaint deadlines to the manager."""
    policy = getattr(app.state, "followup_policy", DEFAULT_POLICY)
    now = app.state.clock.now()
    async with app.state.pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("select pg_try_advisory_xact_lock(hashtext('followup-overdue'))"):
            return
        late = await conn.fetch(_LATE_TASKS, now, BATCH, now - policy.escalate_after)
        tasks = {t.task_id: t for t in (FollowUpTask.model_validate_json(r["data"]) for r in late)}
        cases = {c.complaint_id: c for c in (ComplaintCase.model_validate_json(r["data"])
                                             for r in await conn.fetch(_LATE_CASES, now, BATCH))}
        for action in periodic_check(tasks.values(), cases.values(), now, policy):
            if isinstance(action, MarkTaskOverdue):
                change = tasks[action.task_id].mark_overdue(now)
                await task_store.mark_overdue(conn, change, now)
                tasks[action.task_id] = change.task
            elif isinstance(action, EscalateTask):
                change = tasks[action.task_id].mark_escalated(now)
                await task_store.mark_escalated(conn, change, now)
                tasks[action.task_id] = change.task
            elif isinstance(action, EscalateComplaint):
                case = mark_escalated(cases[action.complaint_id], action.deadline, now)
                await complaint_store.record(conn, case, now, escalated=action.deadline)
                cases[action.complaint_id] = case


async def schedule_care(app: FastAPI) -> None:
    """Birthday and purchase-anniversary care in the coming days; the month's base-customer maintenance."""
    policy = getattr(app.state, "followup_policy", DEFAULT_POLICY)
    now = app.state.clock.now()
    today = business_day(now)
    start, end = care_window(today, policy)
    async with app.state.pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("select pg_try_advisory_xact_lock(hashtext('followup-care'))"):
            return
        rows = await conn.fetch(
            """select p.customer_id, p.owner_id, p.birthday, p.marketing_allowed,
                      coalesce(array_agg(d.closed_on) filter (where d.closed_on is not null), '{}') as bought
               from prospects p left join deals d on d.customer_id = p.customer_id
               where p.merged_into is null and p.marketing_allowed and (p.birthday is not null or d.deal_id is not null)
               group by p.customer_id""")
        customers = []
        for r in rows:
            customers.append(CareCustomer(customer_id=r["customer_id"], owner_id=r["owner_id"] or roster.UNASSIGNED,
                                          birthday=r["birthday"],
                                          purchase_dates=tuple(r["bought"]), marketing_allowed=r["marketing_allowed"]))
        wanted = care_tasks(customers, start, end, now, policy)
        wanted += base_maintenance_tasks(customers, today, (), now, policy)
        await task_store.schedule(conn, wanted, now)


async def read_task_gauges(conn: asyncpg.Connection) -> None:
    """`crm_followup_tasks{status}`: tasks not yet done, open and overdue (read when /metrics is scraped)."""
    counts = {row["status"]: row["n"] for row in await conn.fetch(
        "select status, count(*) as n from tasks where status = any($1::text[]) group by status",
        list(task_store.PENDING))}
    for status in task_store.PENDING:
        FOLLOWUP_TASKS.labels(status).set(counts.get(status, 0))
