"""Envelopes for feeding grading's handlers (or topics) in tests."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from shared.events.contract import (
    ComplaintFiled,
    ContactReceived,
    CustomerMerged,
    CustomerUpdated,
    DealClosed,
    DealItem,
    FollowUpLogged,
    PaymentRecorded,
    ProspectLost,
)
from shared.events.enums import Channel, ComplaintSeverity, ContactMethod, FollowUpOutcome, LossReason
from shared.events.envelope import Envelope, new_event
from shared.runtime.consumer import Inbound

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(day: float, base: datetime = T0) -> datetime:
    return base + timedelta(days=day)


def envelope(payload, customer_id: uuid.UUID, when: datetime, producer: str = "test") -> Envelope:
    return new_event(payload, customer_id=customer_id, producer=producer, occurred_at=when)


def contact(customer_id, when, channel=Channel.WALK_IN, consultant_id="c-001", **kw) -> Envelope:
    return envelope(ContactReceived(contact_id=uuid.uuid4(), channel=channel, consultant_id=consultant_id, **kw),
                    customer_id, when, "intake")


def follow_up(customer_id, when, outcome=FollowUpOutcome.REACHED, consultant_id="c-001", **kw) -> Envelope:
    payload = FollowUpLogged(task_id=uuid.uuid4(), kind="cadence", consultant_id=consultant_id,
                             method=ContactMethod.PHONE, outcome=outcome, completed_at=when, **kw)
    return envelope(payload, customer_id, when, "followup")


def deal(customer_id, when, amount="200000", gross_profit="20000", list_price=None, product="sedan",
         closed_on: date | None = None, deal_id: uuid.UUID | None = None, deposit="0",
         payment_due_on: date | None = None) -> Envelope:
    price = Decimal(list_price or amount)
    payload = DealClosed(deal_id=deal_id or uuid.uuid4(), consultant_id="c-001",
                         items=[DealItem(product=product, quantity=1, unit_price=price)],
                         amount=Decimal(amount), gross_profit=Decimal(gross_profit), deposit=Decimal(deposit),
                         closed_on=closed_on or when.date(), payment_due_on=payment_due_on)
    return envelope(payload, customer_id, when, "followup")


def payment(customer_id, when, deal_id: uuid.UUID, amount="100000", paid_on: date | None = None,
            due_on: date | None = None, balance_after="0") -> Envelope:
    payload = PaymentRecorded(deal_id=deal_id, amount=Decimal(amount), paid_on=paid_on or when.date(),
                              due_on=due_on or when.date(), balance_after=Decimal(balance_after))
    return envelope(payload, customer_id, when, "followup")


def card(customer_id, when, **fields) -> Envelope:
    """A customer-updated as intake sends it: only the changed fields, money as strings."""
    payload = CustomerUpdated(changed_fields=list(fields), card=fields)
    return envelope(payload, customer_id, when, "intake")


def complaint(customer_id, when) -> Envelope:
    payload = ComplaintFiled(complaint_id=uuid.uuid4(), channel=Channel.PHONE, severity=ComplaintSeverity.MEDIUM,
                             description="late delivery")
    return envelope(payload, customer_id, when, "intake")


def lost(customer_id, when, reason=LossReason.COMPETITOR) -> Envelope:
    return envelope(ProspectLost(reason=reason, approved_by="m-1"), customer_id, when, "followup")


def merge(survivor_id, merged_id, when) -> Envelope:
    return envelope(CustomerMerged(merged_customer_id=merged_id), survivor_id, when, "intake")


def inbound(env: Envelope) -> Inbound:
    from shared.events.registry import decode
    return Inbound(env.event_id, env.customer_id, env, decode(env))
