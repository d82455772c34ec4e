"""Loss approval (战败审批): a consultant proposes, a manager approves (`prospect-lost`) or rejects."""
from __future__ import annotations

import uuid

import asyncpg
from fastapi import APIRouter, Depends, Query, Request

from shared.access import Action
from shared.auth import Principal, require_action
from shared.errors import Conflict, NotFound
from shared.events.enums import IntentGrade
from shared.runtime.commands import idempotency_key, run_command
from shared.runtime.ownership import authorize
from shared.masking import mask_personal
from shared.paging import PageRequest, cut, decode_cursor, page_request

from . import loss_store, merging, prospects, task_store
from .access import me, personal_visible, policy_of, visible_owners
from .cadence_work import apply_plan
from .domain import InvalidTransition, LossStatus, approve_loss, propose_loss, reject_loss
from .prospects import ACTIVE, LOST
from .schemas import Decision, ProposeLoss

router = APIRouter(prefix="/v1", tags=["losses"])


@router.post("/prospects/{customer_id}/lost", status_code=201)
async def propose(customer_id: uuid.UUID, body: ProposeLoss, request: Request,
                  key: str | None = Depends(idempotency_key),
                  principal: Principal = Depends(require_action(Action.PROPOSE_LOSS))):
    """Propose closing the prospect as lost, with its reason; a manager decides."""

    async def work(conn):
        now = request.app.state.clock.now()
        cid = await merging.survivor_of(conn, customer_id)
        p = await prospects.load(conn, cid, create=False)
        if p is None:
            raise NotFound(f"prospect {customer_id} not found", field="customer_id", location="path")
        await authorize(conn, principal, Action.PROPOSE_LOSS, cid)
        if p.status != ACTIVE:
            raise Conflict(f"prospect {customer_id} is {p.status}, not in follow-up", field="customer_id",
                           location="path")
        pending = await loss_store.pending_of(conn, cid)
        try:
            proposal = propose_loss(proposal_id=uuid.uuid4(), customer_id=cid, reason=body.reason,
                                    proposed_by=me(principal), now=now, note=body.note, pending=pending)
        except InvalidTransition as exc:
            raise Conflict(str(exc), field="customer_id", location="path") from None
        try:
            async with conn.transaction():
                await loss_store.save(conn, proposal)
        except asyncpg.UniqueViolationError:  # a concurrent proposal won
            raise Conflict(f"a loss proposal for {customer_id} is already waiting for a decision",
                           field="customer_id", location="path") from None
        return 201, proposal.model_dump(mode="json")

    return await run_command(request, principal, key, work)


@router.post("/losses/{proposal_id}/approve")
async def approve(proposal_id: uuid.UUID, request: Request, body: Decision | None = None,
                  key: str | None = Depends(idempotency_key),
                  principal: Principal = Depends(require_action(Action.DECIDE_LOSS))):
    """Close the prospect: its prospect work is cancelled and `prospect-lost` published."""

    async def work(conn):
        now = request.app.state.clock.now()
        proposal = await loss_store.load(conn, proposal_id)
        await authorize(conn, principal, Action.DECIDE_LOSS, proposal.customer_id, field="proposal_id")
        p = await prospects.load(conn, proposal.customer_id)
        pending = await task_store.of_customer(conn, proposal.customer_id)
        try:
            approval = approve_loss(proposal, approved_by=principal.subject, now=now, open_tasks=pending,
                                    consultant_id=p.owner_id, note=body.note if body else None)
        except InvalidTransition as exc:
            raise Conflict(str(exc), field="proposal_id", location="path") from None
        await loss_store.save(conn, approval.proposal)
        event = await task_store.emit(conn, f"loss-{proposal_id}", approval.event, customer_id=proposal.customer_id,
                                      now=now)
        await task_store.record_changes(conn, approval.cancel, now, event)
        await prospects.update(conn, proposal.customer_id, status=LOST, status_at=now)
        return 200, {**approval.proposal.model_dump(mode="json"),
                     "cancelled": [c.task.task_id for c in approval.cancel]}

    return await run_command(request, principal, key, work)


@router.post("/losses/{proposal_id}/reject")
async def reject(proposal_id: uuid.UUID, request: Request, body: Decision | None = None,
                 key: str | None = Depends(idempotency_key),
                 principal: Principal = Depends(require_action(Action.DECIDE_LOSS))):
    """Back to follow-up: the cadence of the prospect's grade restarts from now."""
    policy = policy_of(request)

    async def work(conn):
        now = request.app.state.clock.now()
        proposal = await loss_store.load(conn, proposal_id)
        await authorize(conn, principal, Action.DECIDE_LOSS, proposal.customer_id, field="proposal_id")
        p = await prospects.load(conn, proposal.customer_id)
        pending = await task_store.of_customer(conn, proposal.customer_id)
        try:
            rejection = reject_loss(proposal, rejected_by=principal.subject, now=now,
                                    grade=p.grade or IntentGrade.C, owner_id=p.owner_id or proposal.proposed_by,
                                    open_tasks=pending, policy=policy, note=body.note if body else None,
                                    marketing_allowed=p.marketing_allowed)
        except InvalidTransition as exc:
            raise Conflict(str(exc), field="proposal_id", location="path") from None
        await loss_store.save(conn, rejection.proposal)
        await apply_plan(conn, rejection.plan, now)
        return 200, {**rejection.proposal.model_dump(mode="json"),
                     "cadence": [t.task_id for t in rejection.plan.create]
                     + [c.task.task_id for c in rejection.plan.move]}

    return await run_command(request, principal, key, work)


@router.get("/losses")
async def list_losses(request: Request, status: LossStatus | None = Query(default=LossStatus.PROPOSED),
                      page: PageRequest = Depends(page_request),
                      principal: Principal = Depends(require_action(Action.SEE_WORK))) -> dict:
    """Loss proposals waiting for a decision (or of another status), oldest first: a consultant's own
    customers', a team manager's team's. Paged: pass `next_cursor` as `cursor` for the next page."""
    scope = {"list": "losses", "status": status.value}
    after = decode_cursor(page.cursor, loss_store.PROPOSAL_ORDER, scope)
    async with request.app.state.pool.acquire() as conn:
        rows = await loss_store.listed(conn, status=status.value, owners=await visible_owners(conn, principal),
                                       after=after, limit=page.limit + 1)
        shown = cut(rows, page.limit, lambda p: (p.proposed_at, p.proposal_id), scope)
        full = await personal_visible(conn, principal, {p.customer_id for p in shown.rows})
    return {"losses": [p.model_dump(mode="json") if p.customer_id in full else mask_personal(p.model_dump(mode="json"))
                       for p in shown.rows], **shown.links()}
