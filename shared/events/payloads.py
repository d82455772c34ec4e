"""Payload models, one per event type and version: the event contract.

Integrators get these as JSON Schema (`crm schema`, docs/events/); they are
never written twice by hand. Old versions stay here, with an upcaster in
`registry.py`, so that stored events remain readable forever.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .envelope import EventPayload
from .enums import (
    Channel,
    ComplaintCategory,
    ComplaintSeverity,
    ContactMethod,
    CustomerKind,
    FollowUpOutcome,
    IntentGrade,
    LossReason,
    PurchaseTimeframe,
)

Text = Annotated[str, Field(max_length=2000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]


class ContactReceived(EventPayload):
    """A contact was taken in from any channel (showroom traffic log fields)."""

    EVENT_TYPE: ClassVar[str] = "contact-received"
    VERSION: ClassVar[int] = 1

    contact_id: uuid.UUID
    channel: Channel
    is_new_customer: bool = True
    customer_kind: CustomerKind = CustomerKind.CONSUMER
    name: ShortText | None = Field(default=None, json_schema_extra={"pii": True})
    phone: str | None = Field(default=None, max_length=20, json_schema_extra={"pii": True})
    email: str | None = Field(default=None, max_length=254, json_schema_extra={"pii": True})
    region: ShortText | None = None
    purpose: Text | None = None
    party_size: int | None = Field(default=None, ge=1, le=1000)
    receptionist: ShortText | None = None
    initial_grade: IntentGrade | None = None
    consultant_id: ShortText | None = None
    product_interest: ShortText | None = None
    purchase_timeframe: PurchaseTimeframe | None = None
    budget: Money | None = None
    campaign: ShortText | None = None
    referrer_customer_id: uuid.UUID | None = None
    notes: Text | None = None


class ProspectGraded(EventPayload):
    """The prospect's intent grade changed (up or down), with its cause."""

    EVENT_TYPE: ClassVar[str] = "prospect-graded"
    VERSION: ClassVar[int] = 1

    grade: IntentGrade
    previous_grade: IntentGrade | None = None
    rule: ShortText  # which rule decided, e.g. "timeframe", "deposit", "override"
    cause_event_id: uuid.UUID | None = None
    overridden_by: ShortText | None = None
    reason: Text | None = None
    policy_version: ShortText
    consultant_id: ShortText | None = None


class DealItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    product: ShortText
    quantity: int = Field(ge=1, le=100000)
    unit_price: Money = Field(ge=0)


class DealClosed(EventPayload):
    """A deal (成交) was recorded."""

    EVENT_TYPE: ClassVar[str] = "deal-closed"
    VERSION: ClassVar[int] = 1

    deal_id: uuid.UUID
    consultant_id: ShortText
    items: list[DealItem] = Field(min_length=1, max_length=200)
    amount: Money = Field(ge=0)
    gross_profit: Money
    deposit: Money = Field(default=Decimal("0"), ge=0)
    closed_on: date
    contact_id: uuid.UUID | None = None
    channel: Channel | None = None
    campaign: ShortText | None = None


class ComplaintFiled(EventPayload):
    """A complaint (抱怨投诉) was filed from any channel."""

    EVENT_TYPE: ClassVar[str] = "complaint-filed"
    VERSION: ClassVar[int] = 1

    complaint_id: uuid.UUID
    channel: Channel
    severity: ComplaintSeverity
    description: Annotated[str, Field(min_length=1, max_length=5000)]
    category: ComplaintCategory | None = None


class TaskScheduled(EventPayload):
    """A follow-up work item was created or rescheduled."""

    EVENT_TYPE: ClassVar[str] = "task-scheduled"
    VERSION: ClassVar[int] = 1

    task_id: uuid.UUID
    kind: ShortText
    owner_id: ShortText
    due_at: AwareDatetime
    grade: IntentGrade | None = None
    marketing: bool = True


class FollowUpLogged(EventPayload):
    """A follow-up task was completed and its record logged (跟踪记录)."""

    EVENT_TYPE: ClassVar[str] = "followup-logged"
    VERSION: ClassVar[int] = 1

    task_id: uuid.UUID
    kind: ShortText
    consultant_id: ShortText
    method: ContactMethod
    outcome: FollowUpOutcome
    content: Text | None = None
    test_drive: bool = False
    quote_accepted: bool = False
    budget_confirmed: bool = False
    deposit_amount: Money | None = Field(default=None, ge=0)
    purchase_timeframe: PurchaseTimeframe | None = None
    next_contact_at: AwareDatetime | None = None
    completed_at: AwareDatetime


class TaskClosed(EventPayload):
    """A task left the open list without a follow-up record (cancelled, overdue)."""

    EVENT_TYPE: ClassVar[str] = "task-closed"
    VERSION: ClassVar[int] = 1

    task_id: uuid.UUID
    status: Annotated[str, Field(pattern="^(cancelled|overdue)$")]
    reason: ShortText


class ProspectLost(EventPayload):
    """A loss (战败) was approved by a manager."""

    EVENT_TYPE: ClassVar[str] = "prospect-lost"
    VERSION: ClassVar[int] = 1

    reason: LossReason
    note: Text | None = None
    consultant_id: ShortText | None = None
    approved_by: ShortText


class ConsentChanged(EventPayload):
    """Marketing consent was granted or refused."""

    EVENT_TYPE: ClassVar[str] = "consent-changed"
    VERSION: ClassVar[int] = 1

    marketing_allowed: bool
    source: ShortText | None = None


class CustomerMerged(EventPayload):
    """`merged_customer_id` was joined into the envelope's customer (the survivor)."""

    EVENT_TYPE: ClassVar[str] = "customer-merged"
    VERSION: ClassVar[int] = 1

    merged_customer_id: uuid.UUID


class DeadLetter(EventPayload):
    """A message that could not be applied, with the reason."""

    EVENT_TYPE: ClassVar[str] = "dead-letters"
    VERSION: ClassVar[int] = 1

    consumer: ShortText
    topic: ShortText
    partition: int
    offset: int
    reason: Text
    original: Annotated[str, Field(max_length=1_000_000)]
    failed_at: datetime


ALL_PAYLOADS: tuple[type[EventPayload], ...] = (
    ContactReceived,
    ProspectGraded,
    DealClosed,
    ComplaintFiled,
    TaskScheduled,
    FollowUpLogged,
    TaskClosed,
    ProspectLost,
    ConsentChanged,
    CustomerMerged,
    DeadLetter,
)
