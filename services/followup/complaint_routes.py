"""Complaint handling (抱怨投诉处理): acknowledge, resolve (root cause, remedy), survey the customer."""
from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi import APIRouter, Depends, Query, Request

from shared.access import Action
from shared.auth import Principal, require_action
from shared.errors import Conflict, NotFound
from shared.events.enums import ContactMethod, FollowUpOutcome
from shared.runtime.commands import idempotency_key, run_command
from shared.events.contract.types import IDENTIFIER_MAX, IDENTIFIER_PATTERN
from shared.paging import PageRequest, cut, decode_cursor, page_request

from . import complaint_store, task_store
from .access import authorize_item, by, personal_visible, policy_of, visible_owners
from .domain import (
    ComplaintCase,
    ComplaintStatus,
    FollowUpRecord,
    InvalidTransition,
    TaskKind,
    acknowledge,
    record_survey,
    resolve,
    survey_task,
    task_id_for,
)
from .schemas import Acknowledge, Resolve, Survey

router = APIRouter(prefix="/v1", tags=["complaints"])
_ORDER = list(ComplaintStatus)


async def _step(request: Request, principal: Principal, key: str | None, complaint_id: uuid.UUID,
                target: ComplaintStatus, move: Callable[[ComplaintCase, str], ComplaintCase], after=None):
    """Move the case one step; asking again for a step already taken changes nothing (200, changed false)."""

    async def work(conn):
        now = request.app.state.clock.now()
        case = await complaint_store.get(conn, complaint_id, lock=True)
        if case is None:
            raise NotFound(f"complaint {complaint_id} not found", field="complaint_id", location="path")
        await authorize_item(conn, principal, Action.HANDLE_COMPLAINT, case.owner_id, field="complaint_id")
        full = case.customer_id in await personal_visible(conn, principal, {case.customer_id})
        if _ORDER.index(case.status) >= _ORDER.index(target):
            return 200, {**complaint_store.as_json(case, now, full=full), "changed": False}
        try:
            moved = move(case, now)
        except InvalidTransition as exc:
            raise Conflict(str(exc), field="complaint_id", location="path") from None
        await complaint_store.record(conn, moved, now)
        if after is not None:
            await after(conn, moved, now)
        return 200, {**complaint_store.as_json(moved, now, full=full), "changed": True}

    return await run_command(request, principal, key, work)


@router.post("/complaints/{complaint_id}/acknowledge")
async def acknowledge_complaint(complaint_id: uuid.UUID, request: Request, body: Acknowledge | None = None,
                                key: str | None = Depends(idempotency_key),
                                principal: Principal = Depends(require_action(Action.HANDLE_COMPLAINT))):
    """Take it seriously and confirm it to the customer (认真对待并确认)."""
    return await _step(request, principal, key, complaint_id, ComplaintStatus.ACKNOWLEDGED,
                       lambda case, now: acknowledge(case, by=by(principal), now=now))


@router.post("/complaints/{complaint_id}/resolve")
async def resolve_complaint(complaint_id: uuid.UUID, body: Resolve, request: Request,
                            key: str | None = Depends(idempotency_key),
                            principal: Principal = Depends(require_action(Action.HANDLE_COMPLAINT))):
    """Record the root cause and the remedy; a satisfaction-survey task follows."""
    policy = policy_of(request)

    async def schedule_survey(conn, case, now):
        await task_store.schedule(conn, [survey_task(case, policy, now)], now)

    return await _step(request, principal, key, complaint_id, ComplaintStatus.RESOLVED,
                       lambda case, now: resolve(case, root_cause=body.root_cause, remedy=body.remedy,
                                                 by=by(principal), now=now), schedule_survey)


@router.post("/complaints/{complaint_id}/survey")
async def survey_complaint(complaint_id: uuid.UUID, body: Survey, request: Request,
                           key: str | None = Depends(idempotency_key),
                           principal: Principal = Depends(require_action(Action.HANDLE_COMPLAINT))):
    """The customer's satisfaction with the resolution (1-5); closes the survey task."""

    async def close_survey_task(conn, case, now):
        task = await task_store.get(conn, task_id_for(case.customer_id, TaskKind.COMPLAINT_SURVEY,
                                                      str(case.complaint_id)), lock=True)
        if task is None or not task.is_pending:
            return
        record = FollowUpRecord(consultant_id=by(principal), method=ContactMethod.PHONE,
                                outcome=FollowUpOutcome.REACHED,
                                content=f"satisfaction {body.satisfaction}/5" + (f": {body.comment}"
                                                                                 if body.comment else ""))
        await task_store.record_changes(conn, [task.complete(record, now)], now)

    return await _step(request, principal, key, complaint_id, ComplaintStatus.SURVEYED,
                       lambda case, now: record_survey(case, satisfaction=body.satisfaction, now=now,
                                                       comment=body.comment), close_survey_task)


@router.get("/complaints")
async def list_complaints(request: Request, open_only: bool = Query(default=True, alias="open"),
                          escalated: bool | None = Query(default=None),
                          owner_id: str | None = Query(default=None, max_length=IDENTIFIER_MAX, pattern=IDENTIFIER_PATTERN),
                          customer_id: uuid.UUID | None = Query(default=None),
                          page: PageRequest = Depends(page_request),
                          principal: Principal = Depends(require_action(Action.SEE_WORK))) -> dict:
    """Complaint cases, the most urgent (resolution due first) first; a consultant sees the ones they
    own, a team manager their team's. `escalated=true`: the manager's list. Paged: pass `next_cursor`
    as `cursor` for the next page."""
    now = request.app.state.clock.now()
    scope = {"list": "complaints", "open": open_only, "escalated": escalated, "owner_id": owner_id,
             "customer_id": customer_id}
    after = decode_cursor(page.cursor, complaint_store.CASE_ORDER, scope)
    async with request.app.state.pool.acquire() as conn:
        rows = await complaint_store.listed(conn, open_only=open_only, escalated=escalated, owner_id=owner_id,
                                            customer_id=customer_id, owners=await visible_owners(conn, principal),
                                            after=after, limit=page.limit + 1)
        shown = cut(rows, page.limit, lambda c: (c.resolve_due, c.complaint_id), scope)
        full = await personal_visible(conn, principal, {c.customer_id for c in shown.rows})
    return {"complaints": [complaint_store.as_json(c, now, full=c.customer_id in full) for c in shown.rows],
            **shown.links()}


@router.get("/complaints/{complaint_id}")
async def get_complaint(complaint_id: uuid.UUID, request: Request,
                        principal: Principal = Depends(require_action(Action.SEE_WORK))) -> dict:
    async with request.app.state.pool.acquire() as conn:
        case = await complaint_store.get(conn, complaint_id)
        if case is None:
            raise NotFound(f"complaint {complaint_id} not found", field="complaint_id", location="path")
        await authorize_item(conn, principal, Action.SEE_WORK, case.owner_id, field="complaint_id")
        full = case.customer_id in await personal_visible(conn, principal, {case.customer_id})
    return complaint_store.as_json(case, request.app.state.clock.now(), full=full)
