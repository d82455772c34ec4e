"""HTTP request and response models of intake.

Requests reuse the domain's models (``ContactIn``, ``ComplaintIn``,
``ConsentIn``, ``CustomerCard``): one definition of every rule.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.business_time import HappenedAt
from shared.paging import Paged

from .domain.complaints import ComplaintIn
from .domain.consent import ConsentIn
from .domain.contacts import ContactIn
from .domain.customers import CustomerCard

MAX_BATCH = 1000

__all__ = [
    "AuditTrail", "ComplaintAccepted", "ComplaintIn", "ConsentIn", "ConsentOut", "ContactAccepted",
    "ContactBatchIn", "ContactBatchOut", "ContactIn", "CustomerCard", "CustomerList", "CustomerOut", "CustomerPage",
    "CustomerSummary", "ErasureOut", "MergeCandidates", "MergeIn", "MergeOut",
]


class ContactAccepted(BaseModel):
    contact_id: uuid.UUID
    customer_id: uuid.UUID
    is_new_customer: bool
    matched_by: str | None = Field(default=None, description="phone or email when a known customer matched")
    duplicate: bool = Field(default=False, description="this import row was already taken in earlier")


class ContactBatchIn(BaseModel):
    """Up to 1,000 contacts, taken in all together or not at all."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"contacts": [
        {"channel": "exhibition", "campaign": "2026 spring motor show", "name": "王芳", "phone": "139 0013 9000",
         "import_batch": "show-2026-04", "source_row": 2},
        {"channel": "exhibition", "campaign": "2026 spring motor show", "email": "li.lei@example.com",
         "company": "恒通贸易", "customer_kind": "business", "import_batch": "show-2026-04", "source_row": 3}]}]})

    contacts: list[ContactIn] = Field(min_length=1, max_length=MAX_BATCH)
    historical_before: HappenedAt | None = Field(
        default=None, description="Contacts that happened (`occurred_at`) on a business day before this one's are "
                                  "history taken over from an earlier system (domain §8): they are part of the "
                                  "customer's history and reports and create no work for the past (no first "
                                  "contact; the cadence waits for a live contact). Absent: every contact is live.")


class ContactBatchOut(BaseModel):
    accepted: int
    new_customers: int
    duplicates: int
    results: list[ContactAccepted]


class ComplaintAccepted(BaseModel):
    complaint_id: uuid.UUID
    customer_id: uuid.UUID
    is_new_customer: bool


class ConsentOut(BaseModel):
    customer_id: uuid.UUID
    marketing_allowed: bool
    decided_at: datetime | None
    source: str | None
    changed: bool = Field(description="false when a later decision was already recorded")


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"merged_customer_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}]})

    merged_customer_id: uuid.UUID = Field(description="The duplicate record, joined into the path's customer.")


class MergeOut(BaseModel):
    customer_id: uuid.UUID
    merged_customer_id: uuid.UUID
    conflicts: list[dict[str, Any]] = Field(description="Fields set differently on both; the survivor's kept.")


class ErasureOut(BaseModel):
    """The customer was erased: their keys destroyed, intake's copies scrubbed."""

    customer_id: uuid.UUID = Field(description="The customer erased (a merged id leads to its survivor).")
    erased_customer_ids: list[uuid.UUID] = Field(description="It and every customer merged into it.")
    erased: bool = True
    erased_at: datetime
    changed: bool = Field(description="false when the customer had already been erased")


class CustomerOut(BaseModel):
    """The customer record; personal data masked unless the caller may see it."""

    customer_id: uuid.UUID
    kind: str
    name: str | None
    phone: str | None
    email: str | None
    card: dict[str, Any]
    identities: list[dict[str, str]]
    consultant_id: str | None
    marketing_allowed: bool
    consent_at: datetime | None
    consent_source: str | None
    merged_into: uuid.UUID | None
    merged_customer_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime
    masked: bool
    erased: bool = Field(default=False, description="erased (the right to be forgotten): no personal data left")
    erased_at: datetime | None = None
    history: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    complaints: list[dict[str, Any]]


class CustomerList(BaseModel):
    customers: list[CustomerOut]


class CustomerSummary(BaseModel):
    """A customer found by a search: who they are and who owns them; personal data masked unless the
    caller may see it (`GET /v1/customers/{id}` has the whole record)."""

    customer_id: uuid.UUID
    kind: str
    name: str | None
    phone: str | None
    email: str | None
    consultant_id: str | None = Field(description="the customer's owner (客户归属), none while unassigned")
    masked: bool
    matched_by: str = Field(description="name (its beginning), phone (its end) or email (the whole address)")
    created_at: datetime
    updated_at: datetime


class CustomerPage(Paged):
    """A page of a customer search."""

    customers: list[CustomerSummary]


class AuditTrail(Paged):
    """Who read a customer's full record and who found them, latest first; one cursor pages both."""

    customer_id: uuid.UUID
    reads: list[dict[str, Any]]
    lookups: list[dict[str, Any]]


class MergeCandidates(Paged):
    candidates: list[dict[str, Any]]
