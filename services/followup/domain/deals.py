"""Deals (成交): validation and the work a deal triggers.

A deal records customer, consultant, items, amount, gross profit, deposit,
date and its channel attribution. Validation names every broken rule at
once (`DealInvalid.problems`). A valid deal ends prospect work (the prospect
became a customer; delivery steps still finish the order) and triggers the
3-day call (新车3日DC).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.business_time import business_day
from shared.events.enums import Channel
from shared.events.contract import DealClosed, DealItem

from .aftercare import deal_call_task
from .cadence import delivery_tasks
from .clock import require_aware
from .errors import DealInvalid
from .policy import FollowUpPolicy
from .tasks import FollowUpTask, TaskChange, TaskKind

CENT = Decimal("0.01")
MAX_ITEMS = 200
MAX_MONEY = Decimal("999999999999.99")  # 14 digits, 2 after the point
REASON_DEAL_CLOSED = "deal closed: prospect became a customer"

ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class DealDraft(BaseModel):
    """A deal as entered, before validation; `amount` None means the sum of the items."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deal_id: uuid.UUID
    consultant_id: ShortText
    items: tuple[DealItem, ...]
    amount: Decimal | None = None
    gross_profit: Decimal
    deposit: Decimal = Decimal("0")
    closed_on: date
    contact_id: uuid.UUID | None = None
    channel: Channel | None = None
    campaign: ShortText | None = None
    payment_due_on: date | None = None  # None: the deal date (cash sale)


def items_total(items: Iterable[DealItem]) -> Decimal:
    """Sum of quantity x unit price, to the cent."""
    return sum((i.unit_price * i.quantity for i in items), Decimal("0")).quantize(CENT)


def _money_problem(name: str, value: Decimal) -> str | None:
    if not value.is_finite():
        return f"{name} must be a number"
    if value != value.quantize(CENT):
        return f"{name} {value} has more than 2 decimal places"
    if abs(value) > MAX_MONEY:
        return f"{name} {value} is too large"
    return None


def deal_amount(draft: DealDraft) -> Decimal:
    """The explicit amount, or the items' total."""
    return items_total(draft.items) if draft.amount is None else draft.amount


def deal_problems(draft: DealDraft, now: datetime) -> list[str]:
    """Every rule the draft breaks (empty when valid)."""
    require_aware(now)
    problems: list[str] = []
    if not draft.items:
        problems.append("a deal needs at least one item")
    if len(draft.items) > MAX_ITEMS:
        problems.append(f"a deal has at most {MAX_ITEMS} items")
    amount = deal_amount(draft)
    for name, value in (("amount", amount), ("gross_profit", draft.gross_profit), ("deposit", draft.deposit)):
        if (p := _money_problem(name, value)) is not None:
            problems.append(p)
    if problems:
        return problems
    if amount < 0:
        problems.append("amount must not be negative")
    if draft.deposit < 0:
        problems.append("deposit must not be negative")
    if draft.deposit > amount:
        problems.append(f"deposit {draft.deposit} exceeds the amount {amount}")
    if draft.gross_profit > amount:
        problems.append(f"gross profit {draft.gross_profit} exceeds the amount {amount}")
    today = business_day(now)
    if draft.closed_on > today:
        problems.append(f"closed_on {draft.closed_on} is in the future (today is {today})")
    if draft.payment_due_on is not None and draft.payment_due_on < draft.closed_on:
        problems.append(f"payment_due_on {draft.payment_due_on} is before the deal date {draft.closed_on}")
    return problems


def validate_deal(draft: DealDraft, now: datetime) -> DealClosed:
    """The `DealClosed` payload of a valid draft; raises `DealInvalid` naming every problem."""
    problems = deal_problems(draft, now)
    if problems:
        raise DealInvalid(problems)
    return DealClosed(
        deal_id=draft.deal_id, consultant_id=draft.consultant_id, items=list(draft.items),
        amount=deal_amount(draft), gross_profit=draft.gross_profit, deposit=draft.deposit,
        closed_on=draft.closed_on, contact_id=draft.contact_id, channel=draft.channel, campaign=draft.campaign,
        payment_due_on=draft.payment_due_on or draft.closed_on,
    )


class DealFollowUp(BaseModel):
    """The work a deal changes: prospect tasks to cancel and the 3-day call to schedule (none for
    a deal of history)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cancel: tuple[TaskChange, ...]
    call: FollowUpTask | None


def on_deal_closed(
    deal: DealClosed,
    *,
    customer_id: uuid.UUID,
    open_tasks: Iterable[FollowUpTask],
    delivered_at: datetime,
    now: datetime,
    policy: FollowUpPolicy,
    cause_id: uuid.UUID | None = None,
    historical: bool = False,
) -> DealFollowUp:
    """Cancel the customer's pending first-contact and cadence tasks; schedule 新车3日DC, unless
    the deal is history taken over from an earlier system (domain §8: no call for a delivery
    long gone; the customer has bought, so its prospect work still ends).

    `delivered_at` anchors the 3-day call; pass the deal's own time when the
    delivery time is not known separately.
    """
    cancel = [t.cancel(REASON_DEAL_CLOSED, now) for t in open_tasks
              if t.customer_id == customer_id and t.is_pending
              and t.kind in (TaskKind.FIRST_CONTACT, TaskKind.CADENCE)]
    call = None if historical else deal_call_task(
        customer_id=customer_id, deal_id=deal.deal_id, owner_id=deal.consultant_id, delivered_at=delivered_at,
        now=now, policy=policy, cause_id=cause_id)
    return DealFollowUp(cancel=tuple(c for c in cancel if c.changed), call=call)


def deal_work(
    deal: DealClosed,
    *,
    customer_id: uuid.UUID,
    open_tasks: list[FollowUpTask],
    delivered_at: datetime | None,
    now: datetime,
    policy: FollowUpPolicy,
    cause_id: uuid.UUID,
    historical: bool = False,
) -> tuple[list[FollowUpTask], DealFollowUp]:
    """What a closed deal sets off for its customer whose pending tasks are `open_tasks`: the
    delivery steps it adds (none when `delivered_at` is given, or the deal is history, or a step
    is already pending) and `on_deal_closed`, its 3-day call anchored on the delivery: the given
    time, else the last delivery step's due time, else now."""
    steps: list[FollowUpTask] = []
    if delivered_at is None and not historical:
        have = {t.step for t in open_tasks if t.kind == TaskKind.DELIVERY}
        steps = [t for t in delivery_tasks(customer_id=customer_id, owner_id=deal.consultant_id, ordered_at=now,
                                           now=now, policy=policy, cause_id=cause_id) if t.step not in have]
    deliveries = [t for t in (*open_tasks, *steps) if t.kind == TaskKind.DELIVERY]
    anchor = delivered_at or max((t.due_at for t in deliveries), default=now)
    return steps, on_deal_closed(deal, customer_id=customer_id, open_tasks=open_tasks, delivered_at=anchor,
                                 now=now, policy=policy, cause_id=cause_id, historical=historical)
