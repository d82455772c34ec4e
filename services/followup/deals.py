"""Recording deals (成交) and payments (回款): the use cases behind one deal and one payment, and
the rules a batch of history taken over from an earlier system applies to each row
(`deal_batches` applies a batch set-based with these rules).

Each use case runs inside the caller's transaction (the request owns the commit). A batch is all
or nothing: every row is checked first and every broken rule is reported at once, naming its row
and field (`deals.3.gross_profit`); only then is anything written. Rows are applied in ascending
customer order, the lock order every writer of follow-up keeps (customer first, then what hangs
off it), so two batches touching the same customers wait for each other instead of deadlocking.

A deal dated before the batch's `historical_before` (default: when the import started) is
history (domain §8): it sets the customer's status, value, lifecycle and every report, and it
creates no work for the past: no delivery steps and no 3-day call for a delivery long gone.
It still ends the customer's prospect work, because the customer has bought.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.access import Action, check_role
from shared.auth import Principal
from shared.business_time import business_day, business_instant
from shared.errors import DomainError, DomainValidationError, FieldError, NotFound, dotted_loc, field_path
from shared.events.contract import DealClosed
from shared.events.enums import Role
from shared.runtime import ownership as shared_ownership
from shared.runtime.ownership import authorize

from . import deal_store, merging, ownership, prospects, task_store
from .access import me
from .domain import (
    DealDraft,
    DealInvalid,
    FollowUpPolicy,
    deal_work,
    owner_when_needed,
    validate_deal,
)
from .domain.payments import balance_of, payment_problems, payment_recorded
from .prospects import CUSTOMER
from .schemas import NewDeal, NewPayment

_FIELDS = (("payment_due_on", "payment_due_on"), ("deposit", "deposit"), ("gross", "gross_profit"),
           ("closed_on", "closed_on"), ("item", "items"))


class RowsRejected(DomainValidationError):
    """Every broken rule at once, each as (field, message) with a dotted field (`deals.3.amount`);
    the first names the error's field."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(msg for _, msg in problems), field=problems[0][0])
        self.problems = problems

    def field_errors(self) -> list[FieldError]:
        return [FieldError(field=field_path(dotted_loc(self.location, field)), message=msg)
                for field, msg in self.problems]


class DealRejected(RowsRejected):
    """A deal's (or a batch of deals') broken rules."""


class PaymentRejected(RowsRejected):
    """A payment's (or a batch of payments') broken rules."""


def _deal_field(problem: str) -> str:
    return next((field for word, field in _FIELDS if word in problem), "amount")


def in_row(prefix: str, exc: DomainError) -> DomainError:
    """The same error, its field(s) put under the row (`deals.3.consultant_id`)."""
    if isinstance(exc, RowsRejected):
        return type(exc)([(f"{prefix}.{f}", m) for f, m in exc.problems])
    exc.field = f"{prefix}.{exc.field}" if exc.field else prefix
    exc.location = "body"
    return exc


@dataclass(frozen=True)
class Recorded:
    deal: DealClosed
    customer_id: uuid.UUID
    historical: bool
    deal_call_task_id: uuid.UUID | None
    tasks: list
    cancelled: list[uuid.UUID]

    def as_json(self) -> dict:
        return {"deal": self.deal.model_dump(mode="json"), "customer_id": self.customer_id,
                "historical": self.historical, "deal_call_task_id": self.deal_call_task_id,
                "tasks": [{"task_id": t.task_id, "kind": t.kind, "due_at": t.due_at} for t in self.tasks],
                "cancelled": self.cancelled}


@dataclass(frozen=True)
class Checked:
    body: NewDeal
    customer_id: uuid.UUID
    consultant: str
    deal: DealClosed


class Roster:
    """Roster answers cached for one batch (a history batch names the same few consultants)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn, self.active, self.least = conn, {}, None

    async def read(self, consultants: Iterable[str | None]) -> None:
        """Ask about these consultants at once (a batch then asks nothing per row)."""
        statuses = await shared_ownership.consultant_statuses(self.conn, [c for c in consultants if c])
        for consultant in {c for c in consultants if c}:
            self.active[consultant] = bool(statuses.get(consultant))

    async def is_active(self, consultant: str) -> bool:
        if consultant not in self.active:
            self.active[consultant] = await ownership.active_member(self.conn, consultant) is not None
        return self.active[consultant]

    async def least_loaded(self) -> str | None:
        if self.least is None:
            self.least = await ownership.least_loaded_member(self.conn)
        return self.least


async def _deal_consultant(roster: Roster, principal: Principal, named: str | None, owner: str | None) -> str:
    """Who made the deal: a consultant themselves; for others the named consultant, else the
    customer's owner, else the least loaded. Only an active roster member can make a deal."""
    if principal.role is Role.CONSULTANT and named not in (None, me(principal)):
        check_role(principal, Action.NAME_CONSULTANT, field="consultant_id")
    chosen = named or (me(principal) if principal.role is Role.CONSULTANT else owner) or await roster.least_loaded()
    if chosen is None or not await roster.is_active(chosen):
        raise DomainValidationError(f"consultant {chosen} is not an active consultant on the roster",
                                    field="consultant_id")
    return chosen


async def _check(conn: asyncpg.Connection, principal: Principal, body: NewDeal, roster: Roster,
                 now: datetime) -> Checked:
    """Everything that can refuse the deal, before anything is written."""
    customer_id = await merging.survivor_of(conn, body.customer_id)
    await authorize(conn, principal, Action.RECORD_DEAL, customer_id, location="body")
    owner = await conn.fetchval("select owner_id from prospects where customer_id = $1", customer_id)
    return await checked_deal(principal, body, customer_id, owner, roster, now)


async def checked_deal(principal: Principal, body: NewDeal, customer_id: uuid.UUID, owner: str | None,
                       roster: Roster, now: datetime) -> Checked:
    """The deal's own rules, once its customer (`customer_id`, owned by `owner`) may have it."""
    consultant = await _deal_consultant(roster, principal, body.consultant_id, owner)
    draft = DealDraft(deal_id=uuid.uuid4(), consultant_id=consultant, items=tuple(body.items), amount=body.amount,
                      gross_profit=body.gross_profit, deposit=body.deposit, closed_on=body.closed_on,
                      contact_id=body.contact_id, channel=body.channel, campaign=body.campaign,
                      payment_due_on=body.payment_due_on)
    try:
        deal = validate_deal(draft, now)
    except DealInvalid as exc:
        raise DealRejected([(_deal_field(p), p) for p in exc.problems]) from None
    return Checked(body, customer_id, consultant, deal)


async def apply_deal(conn: asyncpg.Connection, checked: Checked, *, historical: bool, now: datetime,
                     policy: FollowUpPolicy) -> Recorded:
    """A checked deal applied on its own: what `deal_batches` does set-based, one statement at a time."""
    body, deal, customer_id, consultant = checked.body, checked.deal, checked.customer_id, checked.consultant
    p = await prospects.load(conn, customer_id)
    p = await ownership.settle(conn, p, owner_when_needed(p.ownership, consultant), now)
    await deal_store.insert(conn, deal, customer_id, now)
    closed_at = business_instant(deal.closed_on, now)
    event = await task_store.emit(conn, f"deal-{deal.deal_id}", deal, customer_id=customer_id, now=now,
                                  occurred_at=closed_at)
    pending = await task_store.of_customer(conn, customer_id)
    steps, follow = deal_work(deal, customer_id=customer_id, open_tasks=pending, delivered_at=body.delivered_at,
                              now=now, policy=policy, cause_id=event.event_id, historical=historical)
    await task_store.record_changes(conn, follow.cancel, now, event)
    created = await task_store.schedule(conn, [*steps, *([follow.call] if follow.call else [])], now, event)
    await prospects.update(conn, customer_id, status=CUSTOMER, status_at=now)
    return Recorded(deal, customer_id, historical, follow.call.task_id if follow.call else None, created,
                    [c.task.task_id for c in follow.cancel])


async def record_deal(conn: asyncpg.Connection, principal: Principal, body: NewDeal, *, now: datetime,
                      policy: FollowUpPolicy) -> Recorded:
    """One deal as it happens: `deal-closed` (dated on its close day), prospect work ends,
    delivery steps (unless delivered) and 新车3日DC."""
    checked = await _check(conn, principal, body, Roster(conn), now)
    return await apply_deal(conn, checked, historical=False, now=now, policy=policy)


def row_of(field: str) -> int:
    return int(field.split(".")[1])


# --- payments -------------------------------------------------------------------------------------

async def record_payment(conn: asyncpg.Connection, principal: Principal, deal_id: uuid.UUID, body: NewPayment, *,
                         now: datetime, field: str = "deal_id", location: str = "path") -> dict:
    """A payment against a deal: `payment-recorded` with the balance still owed."""
    deal = await deal_store.for_payment(conn, deal_id)
    if deal is None:
        raise NotFound(f"deal {deal_id} not found", field=field, location=location)
    customer_id = await merging.survivor_of(conn, deal["customer_id"])
    await authorize(conn, principal, Action.RECORD_PAYMENT, customer_id, field=field, location=location)
    paid = await deal_store.payments_of(conn, deal_id)
    balance = balance_of(deal["amount"], deal["deposit"], paid)
    today = business_day(now)
    problems = payment_problems(amount=body.amount, paid_on=body.paid_on, balance=balance,
                                closed_on=deal["closed_on"], today=today)
    if problems:
        raise PaymentRejected(problems)
    event_payload = payment_recorded(deal_id=deal_id, amount=body.amount, paid_on=body.paid_on,
                                     due_on=deal["due_on"], balance=balance)
    payment_id = uuid.uuid4()
    await deal_store.insert_payment(conn, payment_id, deal_id, body, event_payload.balance_after,
                                    principal.subject, now)
    paid_at = business_instant(body.paid_on, now)
    await task_store.emit(conn, f"deal-{deal_id}", event_payload, customer_id=customer_id, now=now,
                          occurred_at=paid_at)
    return {"payment_id": payment_id, "customer_id": customer_id, "note": body.note,
            **event_payload.model_dump(mode="json")}
