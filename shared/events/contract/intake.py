"""Events intake produces: contacts, complaints filed, consent, merges, erasures.

Fields marked `"pii": True` are personal: they travel sealed with the customer's key
(shared.pii_seal) and read as erased once the customer is erased."""
from __future__ import annotations

import uuid
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, Field, StringConstraints

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


class _ContactFields(EventPayload):
    """The fields every version of `contact-received` has (the showroom traffic log)."""

    contact_id: uuid.UUID
    channel: Channel
    is_new_customer: bool = True
    customer_kind: CustomerKind = CustomerKind.CONSUMER
    name: ShortText | None = Field(default=None, json_schema_extra={"pii": True})
    phone: str | None = Field(default=None, max_length=20, json_schema_extra={"pii": True})
    email: str | None = Field(default=None, max_length=254, json_schema_extra={"pii": True})
    # Free text about the person and their visit is personal too (sealed, erased with them).
    region: ShortText | None = Field(default=None, json_schema_extra={"pii": True})
    purpose: Text | None = Field(default=None, json_schema_extra={"pii": True})
    party_size: int | None = Field(default=None, ge=1, le=1000)
    receptionist: ShortText | None = Field(default=None, json_schema_extra={"pii": True})
    initial_grade: IntentGrade | None = None
    consultant_id: ShortText | None = None
    product_interest: ShortText | None = None
    purchase_timeframe: PurchaseTimeframe | None = None
    budget: Money | None = None
    campaign: ShortText | None = None
    referrer_customer_id: uuid.UUID | None = None
    notes: Text | None = Field(default=None, json_schema_extra={"pii": True})  # free text about the person


class ContactReceivedV1(_ContactFields):
    """A contact was taken in from any channel (showroom traffic log fields)."""

    EVENT_TYPE: ClassVar[str] = "contact-received"
    VERSION: ClassVar[int] = 1


# The channel's own fields of a contact (company, call id, referral kind, informant, import row, ...):
# keys are field names, values scalars (times ISO 8601, enums by value).
ChannelDetailKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
ChannelDetailValue = ShortText | int | float | bool


class ContactReceivedV2(_ContactFields):
    """A contact was taken in from any channel (showroom traffic log fields).

    Version 2: the fields a channel adds (company, job title, call id, referral kind, informant,
    import batch and row, ...) are in `channel_details`; `notes` is only the free text the person
    or the receptionist gave. Version 1 carried those fields as trailing `key: value` lines of
    `notes`; readers get version 1 upcast (shared.events.upcasters).
    """

    EVENT_TYPE: ClassVar[str] = "contact-received"
    VERSION: ClassVar[int] = 2

    channel_details: dict[ChannelDetailKey, ChannelDetailValue] | None = Field(
        default=None, max_length=50, json_schema_extra={"pii": True},
        description="The channel's own fields of the contact by name (company, job_title, call_id, "
                    "referral_kind, informant_name, import_batch, source_row, callback_requested_at, ...): "
                    "strings (times ISO 8601, enums by value) or numbers; absent when there are none.")


class ContactReceived(ContactReceivedV2):
    """A contact was taken in from any channel (showroom traffic log fields).

    Version 3: `historical` tells a contact taken over from an earlier system. Version 2: the
    fields a channel adds (company, job title, call id, referral kind, informant, import batch
    and row, ...) are in `channel_details`; `notes` is only the free text the person or the
    receptionist gave. Version 1 carried those fields as trailing `key: value` lines of `notes`.
    Readers get earlier versions upcast (shared.events.upcasters).
    """

    VERSION: ClassVar[int] = 3

    historical: bool = Field(
        default=False,
        description="Taken over from an earlier system: the contact happened on a business day before the "
                    "import's cut-off (domain §8). It is part of the customer's history and reports and "
                    "creates no work for the past: no first contact, no service call, and the prospect's "
                    "cadence waits for a live contact.")


class ComplaintFiled(EventPayload):
    """A complaint (抱怨投诉) was filed from any channel."""

    EVENT_TYPE: ClassVar[str] = "complaint-filed"
    VERSION: ClassVar[int] = 1

    complaint_id: uuid.UUID
    channel: Channel
    severity: ComplaintSeverity
    description: Annotated[str, Field(min_length=1, max_length=5000)] = Field(
        json_schema_extra={"pii": True})  # the customer's own account of what happened
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


class CustomerErased(EventPayload):
    """The customer (and every customer merged into them) was erased (the right to be forgotten).

    Their keys are destroyed, so every personal field of their events — in every outbox, log,
    topic and backup — reads as erased from now on; consumers drop the personal data they keep
    and keep the anonymous business facts (counts, grades, deals, amounts, complaint figures).
    `requested_by` is the employee who asked (the token's role and subject), never customer data.
    """

    EVENT_TYPE: ClassVar[str] = "customer-erased"
    VERSION: ClassVar[int] = 1

    erased_at: AwareDatetime
    requested_by: ShortText
    merged_customer_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=1000,
        description="Customers merged into this one earlier (the same person), erased with it.")
