"""`new_event` builds well-formed envelopes without validating them again (a consumer batch builds
thousands): what it builds must be exactly what validation builds, and anything not well formed
must still be refused or coerced by validation as before."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.events.contract import TaskScheduled
from shared.events.envelope import Envelope, new_event

PAYLOAD = TaskScheduled(task_id=uuid.UUID(int=7), kind="first_contact", owner_id="c-001",
                        due_at=datetime(2026, 5, 1, 9, tzinfo=UTC))


def validated(e: Envelope) -> Envelope:
    return Envelope(**{name: getattr(e, name) for name in e.model_fields_set})


@given(offset=st.integers(-12 * 60, 14 * 60), caused=st.booleans(), correlated=st.booleans())
def test_a_built_envelope_is_the_validated_one(offset: int, caused: bool, correlated: bool) -> None:
    zone = timezone(timedelta(minutes=offset))
    now = datetime(2026, 4, 1, 8, 30, tzinfo=zone)
    cause = new_event(PAYLOAD, customer_id=uuid.uuid4(), producer="intake") if caused else None
    e = new_event(PAYLOAD, customer_id=uuid.uuid4(), producer="followup", now=now, causation=cause,
                  correlation_id=uuid.uuid4() if correlated else None)
    v = validated(e)
    assert e == v
    assert e.model_fields_set == v.model_fields_set
    assert e.model_dump_json() == v.model_dump_json() == Envelope.model_validate_json(e.to_json()).model_dump_json()
    assert e.model_dump() == v.model_dump()
    assert "sealed" not in e.model_dump_json()  # left out when empty, as before
    with pytest.raises(ValidationError):
        e.producer = "other"  # still frozen


def test_a_naive_time_is_still_refused() -> None:
    with pytest.raises(ValidationError):
        new_event(PAYLOAD, customer_id=uuid.uuid4(), producer="followup", occurred_at=datetime(2026, 4, 1))


def test_an_id_given_as_text_is_still_coerced() -> None:
    customer = uuid.uuid4()
    e = new_event(PAYLOAD, customer_id=str(customer), producer="followup")  # type: ignore[arg-type]
    assert e.customer_id == customer and type(e.customer_id) is uuid.UUID


def test_an_empty_producer_is_still_refused() -> None:
    with pytest.raises(ValidationError):
        new_event(PAYLOAD, customer_id=uuid.uuid4(), producer="")
