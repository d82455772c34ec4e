"""Tasks: the work lists (due today, overdue, upcoming) and completing a task with its record."""
from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request

from shared.access import Action
from shared.auth import Principal, require_action
from shared.business_time import business_day
from shared.errors import Conflict, DomainValidationError, NotFound
from shared.events.enums import Role
from shared.runtime.commands import idempotency_key, run_command
from shared.masking import mask_personal
from shared.events.contract.types import IDENTIFIER_MAX, IDENTIFIER_PATTERN
from shared.paging import PageRequest, cut, decode_cursor, page_request

from . import prospects, task_store
from .access import authorize_item, me, personal_visible, policy_of, visible_owners
from .cadence_work import apply_plan
from .domain import (
    CompletionTimeInvalid,
    FollowUpRecord,
    FollowUpTask,
    InvalidTransition,
    TaskKind,
    TaskStatus,
    plan_after_follow_up,
)
from .schemas import CompleteTask

router = APIRouter(prefix="/v1", tags=["tasks"])


def task_json(task: FollowUpTask, now: datetime, full: bool) -> dict:
    """A task as the API shows it; the record's free text only to readers who may see the
    customer's personal data."""
    body = task.model_dump(mode="json", exclude={"key"})
    body["late"] = task.is_late(now) or bool(task.done_late)  # pending past due, or done after due
    return body if full else mask_personal(body)


@router.get("/tasks")
async def list_tasks(
    request: Request,
    owner_id: str | None = Query(default=None, max_length=IDENTIFIER_MAX, pattern=IDENTIFIER_PATTERN, description="a consultant (managers, ops)"),
    customer_id: uuid.UUID | None = Query(default=None),
    status: TaskStatus | None = Query(default=None, description="list tasks of this status in `tasks`"),
    kind: TaskKind | None = Query(default=None),
    page: PageRequest = Depends(page_request),
    principal: Principal = Depends(require_action(Action.SEE_WORK)),
) -> dict:
    """A consultant's work (their own only): due today, overdue, upcoming; a manager sees their team's
    (every team's when their token names none). Paged by due time: `tasks` holds this page's tasks,
    `overdue`, `due_today` and `upcoming` sort this page's pending ones; pass `next_cursor` as `cursor`
    for the next page (see docs/api.md, "Paging")."""
    if principal.role is Role.CONSULTANT:
        owner_id = me(principal)
    now = request.app.state.clock.now()
    statuses = [status.value] if status else ["open", "overdue"]
    scope = {"list": "tasks", "owner_id": owner_id, "customer_id": customer_id, "status": statuses,
             "kind": kind.value if kind else None}
    after = decode_cursor(page.cursor, task_store.TASK_ORDER, scope)
    async with request.app.state.pool.acquire() as conn:
        rows = await task_store.listed(conn, statuses=statuses, owner_id=owner_id, customer_id=customer_id,
                                       kind=kind.value if kind else None, owners=await visible_owners(conn, principal),
                                       after=after, limit=page.limit + 1)
        shown = cut(rows, page.limit, lambda t: (t.due_at, t.task_id), scope)
        tasks = shown.rows
        full = await personal_visible(conn, principal, {t.customer_id for t in tasks})
    today = business_day(now)
    pending = [t for t in tasks if t.is_pending]

    def json_of(t: FollowUpTask) -> dict:
        return task_json(t, now, t.customer_id in full)

    return {
        "now": now, "owner_id": owner_id,
        "overdue": [json_of(t) for t in pending if t.is_late(now)],
        "due_today": [json_of(t) for t in pending if not t.is_late(now) and business_day(t.due_at) == today],
        "upcoming": [json_of(t) for t in pending if not t.is_late(now) and business_day(t.due_at) > today],
        "tasks": [json_of(t) for t in tasks], **shown.links(),
    }


@router.get("/tasks/{task_id}")
async def get_task(task_id: uuid.UUID, request: Request,
                   principal: Principal = Depends(require_action(Action.SEE_WORK))) -> dict:
    async with request.app.state.pool.acquire() as conn:
        task = await task_store.get(conn, task_id)
        if task is None:
            raise NotFound(f"task {task_id} not found", field="task_id", location="path")
        await authorize_item(conn, principal, Action.SEE_WORK, task.owner_id, field="task_id")
        full = task.customer_id in await personal_visible(conn, principal, {task.customer_id})
    return task_json(task, request.app.state.clock.now(), full)


@router.post("/tasks/{task_id}/complete")
async def complete_task(task_id: uuid.UUID, body: CompleteTask, request: Request,
                        key: str | None = Depends(idempotency_key),
                        principal: Principal = Depends(require_action(Action.WORK_TASK))):
    """Log the follow-up record and close the task (`followup-logged`, dated `completed_at` when given: a
    call made earlier and logged now); a done task stays as it was (`changed: false`, "already done").
    A task's `late` says whether it was done after its due time."""
    policy = policy_of(request)

    async def work(conn):
        now = request.app.state.clock.now()
        found = await task_store.get(conn, task_id)
        if found is None:
            raise NotFound(f"task {task_id} not found", field="task_id", location="path")
        p = await prospects.load(conn, found.customer_id)  # the prospect first, as the consumers lock them
        task = await task_store.get(conn, task_id, lock=True)
        await authorize_item(conn, principal, Action.WORK_TASK, task.owner_id, field="task_id")
        if task.kind == TaskKind.COMPLAINT_SURVEY and task.is_pending:
            raise Conflict("a complaint survey is recorded with POST /v1/complaints/{id}/survey", field="task_id",
                           location="path")
        record = FollowUpRecord(consultant_id=me(principal) if principal.role is Role.CONSULTANT else task.owner_id,
                                **body.model_dump(exclude={"completed_at"}))
        try:
            change = task.complete(record, now, body.completed_at)
        except CompletionTimeInvalid as exc:
            raise DomainValidationError(str(exc), field="completed_at") from None
        except InvalidTransition as exc:
            raise DomainValidationError(str(exc), field="next_contact_at") from None
        if not change.changed:
            return 200, {"task": task_json(task, now, True), "changed": False, "note": change.note}
        await task_store.record_changes(conn, [change], now)
        done_at = change.task.completed_at
        if p.last_contact_at is None or done_at > p.last_contact_at:  # a call logged late is not the latest
            await prospects.update(conn, task.customer_id, last_contact_at=done_at)
        if p.grade is not None:
            pending = await task_store.of_customer(conn, task.customer_id)
            plan = plan_after_follow_up(change.task, pending, p.grade, now, policy, status=p.cadence_status,
                                        marketing_allowed=p.marketing_allowed)
            await apply_plan(conn, plan, now)
        return 200, {"task": task_json(change.task, now, True), "changed": True}

    return await run_command(request, principal, key, work)
