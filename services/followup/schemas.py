"""Request bodies of the follow-up API (pydantic names the field of any bad input: 422)."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.business_time import HappenedAt, HappenedOn, PlannedAt, PlannedOn
from shared.events.contract import DealItem
from shared.events.contract.types import Identifier, Money, ShortText, Text
from shared.events.enums import (
    Channel,
    ComplaintCategory,
    ContactMethod,
    FollowUpOutcome,
    LossReason,
    PurchaseTimeframe,
)



class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompleteTask(_Body):
    """The follow-up record (跟踪记录): how, what happened, and the buying signals seen; `completed_at`:
    when it was done, if not now (a call made yesterday, logged today): not in the future, not before the
    work arose (the contact, visit or delivery that caused the task, else the task's creation). The task
    is on time or late by this time against its `due_at`."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"method": "phone", "outcome": "reached", "content": "wants a test drive on Saturday", "test_drive": True,
         "purchase_timeframe": "within_1_month", "next_contact_at": "2026-05-09T10:00:00+08:00",
         "completed_at": "2026-05-06T16:30:00+08:00"}]})

    method: ContactMethod
    outcome: FollowUpOutcome
    content: Text | None = None
    test_drive: bool = False
    quote_accepted: bool = False
    budget_confirmed: bool = False
    deposit_amount: Money | None = Field(default=None, ge=0)
    purchase_timeframe: PurchaseTimeframe | None = None
    next_contact_at: PlannedAt | None = None
    completed_at: HappenedAt | None = None


class NewDeal(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"customer_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "consultant_id": "c-007",
         "items": [{"product": "Sedan LX", "quantity": 1, "unit_price": "158000.00"}], "gross_profit": "9000.00",
         "deposit": "20000.00", "closed_on": "2026-05-08", "channel": "walk_in", "payment_due_on": "2026-05-31"}]})

    customer_id: uuid.UUID
    consultant_id: Identifier | None = None  # default: the caller (consultant) or the customer's owner
    items: list[DealItem] = Field(min_length=1, max_length=200)
    amount: Money | None = Field(default=None, ge=0)  # default: the items' total
    gross_profit: Money
    deposit: Money = Field(default=Decimal(0), ge=0)
    closed_on: HappenedOn
    delivered_at: HappenedAt | None = None  # given: already delivered, no delivery steps
    contact_id: uuid.UUID | None = None
    channel: Channel | None = None
    campaign: ShortText | None = None
    payment_due_on: PlannedOn | None = None  # default: the deal date (cash sale)


class NewPayment(_Body):
    """A payment against a deal (回款)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"amount": "50000.00", "paid_on": "2026-05-20", "note": "bank transfer"}]})

    amount: Money = Field(gt=0)
    paid_on: HappenedOn
    note: Text | None = None


class ProposeLoss(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"reason": "competitor", "note": "bought a rival SUV"}]})

    reason: LossReason
    note: Text | None = None


class Decision(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"note": "agreed: the customer chose another brand"}]})

    note: Text | None = None


class Reassign(_Body):
    """A manager's reassignment (domain §8: with a reason, also when a consultant leaves)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"consultant_id": "c-012", "reason": "c-007 left the company"}]})

    consultant_id: Identifier
    reason: Annotated[Text, Field(min_length=1)]


class Consultant(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"consultant_id": "c-012", "name": "李娜", "team": "east", "active": True}]})

    consultant_id: Identifier
    name: ShortText | None = None
    team: ShortText | None = None
    active: bool = True


class CareProfile(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"birthday": "1986-09-14"}]})

    birthday: HappenedOn | None = None


class Acknowledge(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"note": "called the customer back, visit booked"}]})

    note: Text | None = None


class Resolve(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"root_cause": "after_sales_service", "remedy": "free service voucher, apology call"}]})

    root_cause: ComplaintCategory
    remedy: Annotated[str, Field(min_length=1, max_length=2000)]


class Survey(_Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"satisfaction": 4, "comment": "quick and polite"}]})

    satisfaction: int = Field(ge=1, le=5)
    comment: Text | None = None


MAX_BATCH = 1000


class DealBatch(_Body):
    """Up to 1,000 deals at once, all or nothing (history taken over from an earlier system)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"deals": [{"customer_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "consultant_id": "c-007",
                    "items": [{"product": "Sedan LX", "quantity": 1, "unit_price": "158000.00"}],
                    "gross_profit": "9000.00", "closed_on": "2024-05-08"}],
         "historical_before": "2026-06-01T00:00:00+08:00"}]})

    deals: list[NewDeal] = Field(min_length=1, max_length=MAX_BATCH)
    historical_before: HappenedAt | None = Field(
        default=None, description="Deals closed on a business day before this one are history: they set value, "
                                  "lifecycle and reports and create no work (no delivery steps, no 3-day call). "
                                  "Default: now, so a batch of earlier deals creates no work for the past.")


class PaymentEntry(NewPayment):
    """A payment against the deal `deal_id`."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"deal_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "amount": "50000.00", "paid_on": "2024-05-20"}]})

    deal_id: uuid.UUID


class PaymentBatch(_Body):
    """Up to 1,000 payments at once, all or nothing, applied in the order given."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"payments": [{"deal_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "amount": "50000.00",
                       "paid_on": "2024-05-20", "note": "bank transfer"}]}]})

    payments: list[PaymentEntry] = Field(min_length=1, max_length=MAX_BATCH)
