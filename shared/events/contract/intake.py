"""Events intake produces: contacts, complaints filed, consent, merges."""
from __future__ import annotations

import uuid
from typing import Annotated, ClassVar

from pydantic import Field

from ..enums import (
    Channel,
    ComplaintCategory,
    ComplaintSeverity,
    CustomerKind,
    IntentGrade,
    PurchaseTimeframe,
)
from ..envelope import EventPayload
from .types import Money, ShortText, Text


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


class ComplaintFiled(EventPayload):
    """A complaint (抱怨投诉) was filed from any channel."""

    EVENT_TYPE: ClassVar[str] = "complaint-filed"
    VERSION: ClassVar[int] = 1

    complaint_id: uuid.UUID
    channel: Channel
    severity: ComplaintSeverity
    description: Annotated[str, Field(min_length=1, max_length=5000)]
    category: ComplaintCategory | None = None


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


CardValue = str | int | float | bool | None


class CustomerUpdated(EventPayload):
    """Fields of the customer information card (客户信息卡) changed: their new values.

    Sent for card edits, for gaps a later contact filled in and for the
    survivor of a merge; the creation of a customer is `contact-received`.
    """

    EVENT_TYPE: ClassVar[str] = "customer-updated"
    VERSION: ClassVar[int] = 1

    changed_fields: list[ShortText] = Field(min_length=1, max_length=50)
    card: dict[str, CardValue] = Field(
        description="New value of each changed field (dates ISO 8601, money as strings).",
        json_schema_extra={"pii": True},
    )
