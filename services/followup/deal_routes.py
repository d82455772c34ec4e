"""Deals (成交): recorded, published as `deal-closed`, and followed by delivery steps and the 3-day call."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request

from shared.access import Action, check_role
from shared.auth import Principal, require_action
from shared.business_time import business_instant
from shared.errors import DomainValidationError, FieldError, NotFound
from shared.events.enums import Role
from shared.runtime.commands import idempotency_key, run_command
from shared.runtime.ownership import authorize

from . import merging, ownership, prospects, task_store
from .access import me, policy_of
from .domain import (
    DealDraft,
    DealInvalid,
    TaskKind,
    delivery_tasks,
    on_deal_closed,
    owner_when_needed,
    validate_deal,
)
from .domain.payments import balance_of, payment_problems, payment_recorded
from .prospects import CUSTOMER
from .schemas import NewDeal, NewPayment

router = APIRouter(prefix="/v1", tags=["deals"])
_FIELDS = (("payment_due_on", "payment_due_on"), ("deposit", "deposit"), ("gross", "gross_profit"),
           ("closed_on", "closed_on"), ("item", "items"))


class DealRejected(DomainValidationError):
    """Every broken deal rule at once, each naming its field."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        super().__init__("; ".join(problems), field="items")
        self.problems = problems

    def field_errors(self) -> list[FieldError]:
        return [FieldError(field=_field_of(p), message=p) for p in self.problems]


def _field_of(problem: str) -> str:
    return next((field for word, field in _FIELDS if word in problem), "amount")


@router.post("/deals", status_code=201)
async def record_deal(body: NewDeal, request: Request, key: str | None = Depends(idempotency_key),
                      principal: Principal = Depends(require_action(Action.RECORD_DEAL))):
    """Record a deal: `deal-closed` (dated on its close day), prospect work ends, delivery steps (unless
    delivered) and 新车3日DC. A consultant records their own deals; `consultant_id` must be an active
    consultant on the roster. An unowned customer becomes the deal's consultant's."""
    policy = policy_of(request)

    async def work(conn):
        now = request.app.state.clock.now()
        customer_id = await merging.survivor_of(conn, body.customer_id)
        await authorize(conn, principal, Action.RECORD_DEAL, customer_id, location="body")
        p = await prospects.load(conn, customer_id)
        consultant = await _deal_consultant(conn, principal, body.consultant_id, p.owner_id)
        p = await ownership.settle(conn, p, owner_when_needed(p.ownership, consultant), now)
        draft = DealDraft(deal_id=uuid.uuid4(), consultant_id=consultant, items=tuple(body.items), amount=body.amount,
                          gross_profit=body.gross_profit, deposit=body.deposit, closed_on=body.closed_on,
                          contact_id=body.contact_id, channel=body.channel, campaign=body.campaign,
                          payment_due_on=body.payment_due_on)
        try:
            deal = validate_deal(draft, now, policy)
        except DealInvalid as exc:
            raise DealRejected(exc.problems) from None
        await conn.execute(
            """insert into deals (deal_id, customer_id, consultant_id, amount, gross_profit, deposit, closed_on, data,
                                  recorded_at, payment_due_on)
               values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)""",
            deal.deal_id, customer_id, consultant, deal.amount, deal.gross_profit, deal.deposit, deal.closed_on,
            deal.model_dump_json(), now, deal.payment_due_on)
        closed_at = business_instant(deal.closed_on, now, policy.working_hours.zone)
        event = await task_store.emit(conn, f"deal-{deal.deal_id}", deal, customer_id=customer_id, now=now,
                                      occurred_at=closed_at)
        pending = await task_store.of_customer(conn, customer_id)
        steps = []
        if body.delivered_at is None:
            have = {t.step for t in pending if t.kind == TaskKind.DELIVERY}
            steps = [t for t in delivery_tasks(customer_id=customer_id, owner_id=consultant, ordered_at=now, now=now,
                                               policy=policy, cause_id=event.event_id) if t.step not in have]
        deliveries = [t for t in (*pending, *steps) if t.kind == TaskKind.DELIVERY]
        delivered_at = body.delivered_at or max((t.due_at for t in deliveries), default=now)
        follow = on_deal_closed(deal, customer_id=customer_id, open_tasks=pending, delivered_at=delivered_at,
                                now=now, policy=policy, cause_id=event.event_id)
        await task_store.record_changes(conn, follow.cancel, now, event)
        created = await task_store.schedule(conn, [*steps, follow.call], now, event)
        await prospects.update(conn, customer_id, status=CUSTOMER, status_at=now)
        return 201, {"deal": deal.model_dump(mode="json"), "customer_id": customer_id,
                     "deal_call_task_id": follow.call.task_id,
                     "tasks": [{"task_id": t.task_id, "kind": t.kind, "due_at": t.due_at} for t in created],
                     "cancelled": [c.task.task_id for c in follow.cancel]}

    return await run_command(request, principal, key, work)


async def _deal_consultant(conn, principal: Principal, named: str | None, owner: str | None) -> str:
    """Who made the deal: a consultant themselves; for others the named consultant, else the
    customer's owner, else the least loaded. Only an active roster member can make a deal."""
    if principal.role is Role.CONSULTANT and named not in (None, me(principal)):
        check_role(principal, Action.NAME_CONSULTANT, field="consultant_id")
    chosen = named or (me(principal) if principal.role is Role.CONSULTANT else owner) \
        or await ownership.least_loaded_member(conn)
    if chosen is None or await ownership.active_member(conn, chosen) is None:
        raise DomainValidationError(f"consultant {chosen} is not an active consultant on the roster",
                                    field="consultant_id")
    return chosen


class PaymentRejected(DomainValidationError):
    """Every broken payment rule at once, each naming its field."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(msg for _, msg in problems), field=problems[0][0])
        self.problems = problems

    def field_errors(self) -> list[FieldError]:
        return [FieldError(field=field, message=msg) for field, msg in self.problems]


@router.post("/deals/{deal_id}/payments", status_code=201)
async def record_payment(deal_id: uuid.UUID, body: NewPayment, request: Request,
                         key: str | None = Depends(idempotency_key),
                         principal: Principal = Depends(require_action(Action.RECORD_PAYMENT))):
    """Record a payment against a deal (回款): `payment-recorded` with the balance still owed."""
    policy = policy_of(request)

    async def work(conn):
        now = request.app.state.clock.now()
        deal = await conn.fetchrow(
            """select customer_id, amount, deposit, closed_on, coalesce(payment_due_on, closed_on) as due_on
               from deals where deal_id = $1 for update""", deal_id)
        if deal is None:
            raise NotFound(f"deal {deal_id} not found", field="deal_id", location="path")
        customer_id = await merging.survivor_of(conn, deal["customer_id"])
        await authorize(conn, principal, Action.RECORD_PAYMENT, customer_id, field="deal_id")
        paid = await conn.fetch("select amount from payments where deal_id = $1", deal_id)
        balance = balance_of(deal["amount"], deal["deposit"], (r["amount"] for r in paid))
        today = now.astimezone(policy.working_hours.zone).date()
        problems = payment_problems(amount=body.amount, paid_on=body.paid_on, balance=balance,
                                    closed_on=deal["closed_on"], today=today)
        if problems:
            raise PaymentRejected(problems)
        event_payload = payment_recorded(deal_id=deal_id, amount=body.amount, paid_on=body.paid_on,
                                         due_on=deal["due_on"], balance=balance)
        payment_id = uuid.uuid4()
        await conn.execute(
            """insert into payments (payment_id, deal_id, amount, paid_on, note, balance_after, recorded_by,
                                     recorded_at) values ($1, $2, $3, $4, $5, $6, $7, $8)""",
            payment_id, deal_id, body.amount, body.paid_on, body.note, event_payload.balance_after,
            principal.subject, now)
        paid_at = business_instant(body.paid_on, now, policy.working_hours.zone)
        await task_store.emit(conn, f"deal-{deal_id}", event_payload, customer_id=customer_id, now=now,
                              occurred_at=paid_at)
        return 201, {"payment_id": payment_id, "customer_id": customer_id, "note": body.note,
                     **event_payload.model_dump(mode="json")}

    return await run_command(request, principal, key, work)
