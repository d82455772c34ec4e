"""The raw call-center feed (话务中心 Call Center): topic ``callcenter-contacts``.

A call-center system publishes one JSON message per call. Intake validates it
strictly (unknown fields are rejected: a typo must not silently drop data),
maps it to a ``ContactIn`` with channel ``call_center`` and resolves the
customer; a message that cannot be accepted goes to the dead-letter topic with
a reason that names the field. Message example (schema_version 1)::

    {"schema_version": 1, "source_system": "cc-north", "call_id": "C-20240501-0001",
     "call_started_at": "2024-05-01T09:30:00+08:00", "duration_seconds": 240,
     "call_type": "inbound", "caller_phone": "13800138000", "caller_name": "张三",
     "agent_id": "A017", "purpose": "price enquiry", "product_interest": "SUV X5",
     "purchase_timeframe": "within_1_month",
     "requested_callback_at": "2024-05-02T10:00:00+08:00"}

``caller_phone``/``caller_name`` are the *customer's* number and name: the
caller on an inbound call, the person called on an outbound call.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.events.enums import Channel, IntentGrade, PurchaseTimeframe

from .contacts import ContactIn
from .errors import error_field
from .identity import OptEmail, Phone
from .text import Identifier, OptLongText, OptName, OptShortText

MAX_MESSAGE_BYTES = 64 * 1024


class CallType(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallCenterMessage(BaseModel):
    """One call as sent by a call-center system.

    Strict: no type coercion ("240" is not an integer), unknown fields rejected;
    validate JSON with ``parse_callcenter_message`` (``model_validate_json``), where
    ISO date strings and enum values are the JSON forms.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    schema_version: Literal[1] = 1
    source_system: Identifier
    call_id: Identifier
    call_started_at: AwareDatetime
    duration_seconds: int | None = Field(default=None, ge=0, le=86_400)
    call_type: CallType
    caller_phone: Phone
    caller_name: OptName = None
    caller_email: OptEmail = None
    agent_id: Identifier
    purpose: OptLongText = None
    notes: OptLongText = None
    product_interest: OptShortText = None
    purchase_timeframe: PurchaseTimeframe | None = None
    intent_grade: IntentGrade | None = None
    region: OptShortText = None
    campaign: OptShortText = None
    consultant_id: OptShortText = None
    requested_callback_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _callback_after_call(self) -> CallCenterMessage:
        if (
            self.requested_callback_at is not None
            and self.requested_callback_at < self.call_started_at
        ):
            raise ValidationError.from_exception_data(
                "CallCenterMessage",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "callback_before_call", "must not be before call_started_at"
                        ),
                        loc=("requested_callback_at",),
                        input=self.requested_callback_at.isoformat(),
                    )
                ],
            )
        return self


@dataclass(frozen=True, slots=True)
class CallCenterRejection:
    """Why a message was refused; ``reason`` starts with the field name."""

    field: str
    message: str

    @property
    def reason(self) -> str:
        return f"{self.field or 'message'}: {self.message}"


def parse_callcenter_message(raw: bytes | str) -> CallCenterMessage | CallCenterRejection:
    """Validate one raw Kafka message value; never raises for bad input."""
    if raw is None:
        return CallCenterRejection("", "empty message")
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_MESSAGE_BYTES:
        return CallCenterRejection("", f"message larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        decoded = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return CallCenterRejection("", f"not valid UTF-8 JSON ({exc})")
    except RecursionError:
        return CallCenterRejection("", "nested too deeply to be a call record")
    if not isinstance(decoded, dict):
        return CallCenterRejection("", "must be a JSON object")
    try:
        return CallCenterMessage.model_validate_json(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        return CallCenterRejection(error_field(tuple(err["loc"])), err["msg"])


def to_contact(message: CallCenterMessage) -> ContactIn:
    """The canonical contact for a call (channel ``call_center``)."""
    direction = "inbound call" if message.call_type is CallType.INBOUND else "outbound call"
    purpose = f"{direction}: {message.purpose}" if message.purpose else direction
    if len(purpose) > 2000:
        purpose = purpose[:1999] + "…"
    return ContactIn(
        channel=Channel.CALL_CENTER,
        occurred_at=message.call_started_at,
        name=message.caller_name,
        phone=message.caller_phone,
        email=message.caller_email,
        region=message.region,
        purpose=purpose,
        receptionist=message.agent_id,
        initial_grade=message.intent_grade,
        consultant_id=message.consultant_id,
        product_interest=message.product_interest,
        purchase_timeframe=message.purchase_timeframe,
        campaign=message.campaign,
        notes=message.notes,
        callback_requested_at=message.requested_callback_at,
        call_id=message.call_id,
    )


def dedup_key(message: CallCenterMessage) -> str:
    """A stable key for a call: call-center systems re-send; one call, one contact."""
    return f"callcenter:{message.source_system}:{message.call_id}"

