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

from . import merging, prospects, task_store
from .access import me, personal_visible, policy_of, visible_owners
from .cadence_work import apply_plan
from .domain import InvalidTransition, LossProposal, LossStatus, approve_loss, propose_loss, reject_loss
from .prospects import ACTIVE, LOST
from .schemas import Decision, ProposeLoss

router = APIRouter(prefix="/v1", tags=["losses"])


async def _load(conn: asyncpg.Connection, proposal_id: uuid.UUID) -> LossProposal:
    row = await conn.fetchrow("select data::text as data from loss_proposals where proposal_id = $1 for update",
                              proposal_id)
    if row is None:
        raise NotFound(f"loss proposal {proposal_id} not found", field="proposal_id", location="path")
    return LossProposal.model_validate_json(row["data"])


async def _save(conn: asyncpg.Connection, proposal: LossProposal) -> None:
    await conn.execute(
        """insert into loss_proposals (proposal_id, customer_id, status, data, proposed_at)
           values ($1, $2, $3, $4::jsonb, $5) on conflict (proposal_id) do update
           set status = excluded.status, data = excluded.data""",
        proposal.proposal_id, proposal.customer_id, proposal.status.value, proposal.model_dump_json(),
        proposal.proposed_at)


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
        row = await conn.fetchrow("select data::text as data from loss_proposals where customer_id = $1 "
                                  "and status = 'proposed'", cid)
        pending = LossProposal.model_validate_json(row["data"]) if row else None
        try:
            proposal = propose_loss(proposal_id=uuid.uuid4(), customer_id=cid, reason=body.reason,
                                    proposed_by=me(principal), now=now, note=body.note, pending=pending)
        except InvalidTransition as exc:
            raise Conflict(str(exc), field="customer_id", location="path") from None
        try:
            async with conn.transaction():
                await _save(conn, proposal)
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
        proposal = await _load(conn, proposal_id)
        await authorize(conn, principal, Action.DECIDE_LOSS, proposal.customer_id, field="proposal_id")
        p = await prospects.load(conn, proposal.customer_id)
        pending = await task_store.of_customer(conn, proposal.customer_id)
        try:
            approval = approve_loss(proposal, approved_by=principal.subject, now=now, open_tasks=pending,
                                    consultant_id=p.owner_id, note=body.note if body else None)
        except InvalidTransition as exc:
            raise Conflict(str(exc), field="proposal_id", location="path") from None
        await _save(conn, approval.proposal)
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
        proposal = await _load(conn, proposal_id)
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
        await _save(conn, rejection.proposal)
        await apply_plan(conn, rejection.plan, now)
        return 200, {**rejection.proposal.model_dump(mode="json"),
                     "cadence": [t.task_id for t in rejection.plan.create]
                     + [c.task.task_id for c in rejection.plan.move]}

    return await run_command(request, principal, key, work)


@router.get("/losses")
async def list_losses(request: Request, status: LossStatus | None = Query(default=LossStatus.PROPOSED),
                      principal: Principal = Depends(require_action(Action.SEE_WORK))) -> dict:
    """Loss proposals waiting for a decision (or of another status): a consultant's own customers', a
    team manager's team's."""
    async with request.app.state.pool.acquire() as conn:
        owners = await visible_owners(conn, principal)
        rows = await conn.fetch(
            """select l.data::text as data from loss_proposals l left join prospects p using (customer_id)
               where l.status = $1 and ($2::text[] is null or p.owner_id = any($2) or p.owner_id is null)
               order by l.proposed_at limit 500""", status.value, owners)
        proposals = [LossProposal.model_validate_json(r["data"]) for r in rows]
        full = await personal_visible(conn, principal, {p.customer_id for p in proposals})
    return {"losses": [p.model_dump(mode="json") if p.customer_id in full else mask_personal(p.model_dump(mode="json"))
                       for p in proposals]}
