"""The JSON envelope every Kafka message carries (see architecture.md "Events")."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..request_context import correlation_id as request_correlation_id


class EventPayload(BaseModel):
    """Base of every event payload; one subclass per event type and version."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    EVENT_TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1


class Envelope(BaseModel):
    """One event as stored in an outbox and sent over Kafka."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    event_type: str = Field(min_length=1, max_length=100)
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    producer: str = Field(min_length=1, max_length=100)
    customer_id: uuid.UUID
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    payload: dict[str, Any]
    sealed: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50, exclude_if=lambda names: not names,
        description="Payload fields whose values are ciphertext (`sealed:v1:...`), sealed with the customer's "
                    "own key (shared.pii_seal); such a field does not follow the payload schema until opened, "
                    "and reads as erased once the customer is erased. Absent: the payload is plaintext.")

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        return cls.model_validate_json(raw)

    @property
    def key(self) -> bytes:
        """Kafka key: the customer id, so one customer's events stay in order."""
        return str(self.customer_id).encode()


def new_event(
    payload: EventPayload,
    *,
    customer_id: uuid.UUID,
    producer: str,
    occurred_at: datetime | None = None,
    correlation_id: uuid.UUID | None = None,
    causation: Envelope | None = None,
    event_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Envelope:
    """Wrap a payload; a causing event carries its correlation id forward, and an event an HTTP
    request causes carries the request's id (shared.request_context)."""
    recorded = now or datetime.now(UTC)
    if causation is not None:
        correlation_id = causation.correlation_id or causation.event_id
    elif correlation_id is None:
        correlation_id = request_correlation_id()
    fields = dict(
        event_id=event_id or uuid.uuid4(),
        event_type=payload.EVENT_TYPE,
        schema_version=payload.VERSION,
        occurred_at=occurred_at or recorded,
        recorded_at=recorded,
        producer=producer,
        customer_id=customer_id,
        correlation_id=correlation_id,
        causation_id=causation.event_id if causation else None,
        payload=payload.model_dump(mode="json"),
    )
    # The payload is a validated model and the rest are values of the right types in the common case:
    # validating them again costs more than building the event (a consumer batch builds thousands).
    # Anything else (a naive time, an id given as text, ...) goes through validation as before.
    if _well_formed(fields):
        return _built(fields)
    return Envelope(**fields)


_FIELDS_SET = frozenset(Envelope.model_fields) - {"sealed"}  # what validation counts as set by new_event


def _built(fields: dict[str, Any]) -> Envelope:
    """The envelope validation would build from these well-formed fields, built as pydantic's own
    `model_construct` does (which is slower than validating: it inspects every default's factory
    on each call); tests/unit/test_envelope_build.py holds it equal to the validated one."""
    envelope = object.__new__(Envelope)
    object.__setattr__(envelope, "__dict__", {**fields, "sealed": []})
    object.__setattr__(envelope, "__pydantic_fields_set__", set(_FIELDS_SET))
    object.__setattr__(envelope, "__pydantic_extra__", None)
    object.__setattr__(envelope, "__pydantic_private__", None)
    return envelope


def _well_formed(f: dict[str, Any]) -> bool:
    """Are these an envelope's fields exactly as validation would leave them?"""
    return (type(f["event_id"]) is uuid.UUID and type(f["customer_id"]) is uuid.UUID
            and (f["correlation_id"] is None or type(f["correlation_id"]) is uuid.UUID)
            and (f["causation_id"] is None or type(f["causation_id"]) is uuid.UUID)
            and _aware(f["occurred_at"]) and _aware(f["recorded_at"])
            and type(f["producer"]) is str and 0 < len(f["producer"]) <= 100
            and type(f["event_type"]) is str and 0 < len(f["event_type"]) <= 100
            and type(f["schema_version"]) is int and f["schema_version"] >= 1)


def _aware(moment: object) -> bool:
    return type(moment) is datetime and moment.utcoffset() is not None
