"""A complaint (抱怨投诉) filed from any channel: ``POST /v1/complaints``.

The complainant is a known customer (``customer_id``) or is identified by phone
(or email) and resolved like any contact. When ``customer_id`` is given it is
authoritative; phone/email are then kept as the callback details. Consent never
blocks complaint handling.

Example::

    {"phone": "138 0013 8000", "channel": "phone", "severity": "high",
     "description": "Repair request waited a month", "category": "after_sales_service"}
"""
from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.business_time import HappenedAt
from shared.events.enums import Channel, ComplaintCategory, ComplaintSeverity
from shared.events.contract import ComplaintFiled

from .identity import IdentityKey, OptEmail, OptPhone, identity_keys
from .text import Description, OptName, OptShortText


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"phone": "138 0013 8000", "name": "张三", "channel": "phone", "severity": "medium",
         "description": "the car was delivered two days late", "category": "delivery",
         "occurred_at": "2026-05-08T15:30:00+08:00"}]})

    customer_id: uuid.UUID | None = None
    phone: OptPhone = None
    email: OptEmail = None
    name: OptName = None
    channel: Channel
    severity: ComplaintSeverity
    description: Description
    category: ComplaintCategory | None = None
    occurred_at: HappenedAt | None = None  # the receipt time if omitted
    product: OptShortText = None
    consultant_id: OptShortText = None  # the consultant concerned, if any

    @model_validator(mode="after")
    def _identified(self) -> ComplaintIn:
        if self.customer_id is None and self.phone is None and self.email is None:
            raise ValidationError.from_exception_data(
                "ComplaintIn",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "missing_identity", "give customer_id, or a phone or an email"
                        ),
                        loc=("customer_id",),
                        input=None,
                    )
                ],
            )
        return self

    @property
    def needs_resolution(self) -> bool:
        """True when the customer must be found (or created) from phone/email."""
        return self.customer_id is None

    def identity_keys(self) -> tuple[IdentityKey, ...]:
        return identity_keys(self.phone, self.email)


def to_complaint_filed(complaint: ComplaintIn, *, complaint_id: uuid.UUID) -> ComplaintFiled:
    """The ``complaint-filed`` payload (the envelope carries the customer id)."""
    return ComplaintFiled(
        complaint_id=complaint_id,
        channel=complaint.channel,
        severity=complaint.severity,
        description=complaint.description,
        category=complaint.category,
    )
