"""HTTP request and response models of intake."""
from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, model_validator

from shared.events.enums import Channel, CustomerKind, IntentGrade, PurchaseTimeframe


class ContactIn(BaseModel):
    """One contact from any channel (the showroom traffic log's fields)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Channel
    occurred_at: AwareDatetime | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, min_length=5, max_length=40)
    email: EmailStr | None = None
    customer_kind: CustomerKind = CustomerKind.CONSUMER
    region: str | None = Field(default=None, max_length=200)
    purpose: str | None = Field(default=None, max_length=2000)
    party_size: int | None = Field(default=None, ge=1, le=1000)
    receptionist: str | None = Field(default=None, max_length=200)
    initial_grade: IntentGrade | None = None
    consultant_id: str | None = Field(default=None, min_length=1, max_length=200)
    product_interest: str | None = Field(default=None, max_length=200)
    purchase_timeframe: PurchaseTimeframe | None = None
    budget: float | None = Field(default=None, ge=0, le=1e12)
    campaign: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if not self.phone and not self.email:
            raise ValueError("phone or email is required")
        return self


class ContactAccepted(BaseModel):
    contact_id: uuid.UUID
    customer_id: uuid.UUID
    is_new_customer: bool


class CustomerOut(BaseModel):
    customer_id: uuid.UUID
    kind: CustomerKind
    name: str | None
    phone: str | None
    email: str | None
    marketing_allowed: bool
    created_at: datetime
