"""The call-center feed: consume raw ``callcenter-contacts``, emit ``contact-received``.

Each message is validated strictly (``domain.callcenter``); a good one becomes a
``call_center`` contact through ``receive_contact``; a bad one raises
``PoisonMessage("field: reason")`` and the consumer runtime stores it as a
``dead-letters`` event. A call re-sent by the call center (same source system
and call id) is applied once: the inbox deduplicates on a message id derived
from the call, and the contact's dedup key guards again.

The inbound format is published for integrators as JSON Schema generated from
the model: ``docs/events/callcenter-contacts.inbound.schema.json``
(``write_inbound_schema``; a test keeps the file current).
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import asyncpg
from aiokafka import ConsumerRecord
from pydantic import ValidationError

from shared.app import ConsumerSpec
from shared.errors import DomainError
from shared.events.asyncapi import InboundChannel, register_inbound
from shared.events.examples import CALLCENTER_EXAMPLE
from shared.events.schema_export import SCHEMA_BASE
from shared.events.topics import CALLCENTER_CONTACTS
from shared.runtime.consumer import Inbound, PoisonMessage

from .contacts import Actor, receive_contact
from .domain.callcenter import CallCenterMessage, dedup_key, parse_callcenter_message, to_contact
from .domain.errors import first_error

CONSUMER_GROUP = "intake-callcenter"
NAMESPACE = uuid.UUID("5d8a6f0e-8c1b-4f7d-9a51-3c0e9b2d7f41")
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "events" / f"{CALLCENTER_CONTACTS}.inbound.schema.json"


def decode(record: ConsumerRecord) -> Inbound:
    """Raw bytes -> the validated call; PoisonMessage names the field."""
    parsed = parse_callcenter_message(record.value)
    if not isinstance(parsed, CallCenterMessage):
        raise PoisonMessage(parsed.reason)
    return Inbound(message_id=uuid.uuid5(NAMESPACE, dedup_key(parsed)), customer_id=None, envelope=None,
                   payload=parsed)


def make_handler(clock):
    async def handle(conn: asyncpg.Connection, inbound: Inbound) -> None:
        message: CallCenterMessage = inbound.payload  # type: ignore[assignment]
        try:
            contact = to_contact(message)
            await receive_contact(conn, contact, clock.now(), Actor(f"callcenter:{message.source_system}"),
                                  dedup_key=dedup_key(message))
        except ValidationError as exc:
            field, reason = first_error(exc)
            raise PoisonMessage(f"{field or 'message'}: {reason}") from None
        except DomainError as exc:
            raise PoisonMessage(f"{exc.field or 'message'}: {exc.message}") from None

    return handle


def consumer_spec(clock) -> ConsumerSpec:
    return ConsumerSpec(group=CONSUMER_GROUP, handlers={CALLCENTER_CONTACTS: make_handler(clock)},
                        decoders={CALLCENTER_CONTACTS: decode})


def inbound_schema() -> dict:
    """JSON Schema of one raw call-center message, from the model."""
    schema = CallCenterMessage.model_json_schema()
    schema["title"] = f"{CALLCENTER_CONTACTS} inbound message v1"
    schema["x-topic"] = CALLCENTER_CONTACTS
    schema["description"] = (
        "One call, published by a call-center system as a UTF-8 JSON object (not an envelope) on the "
        f"`{CALLCENTER_CONTACTS}` topic, keyed by the caller's phone or the call id. Intake validates it "
        "strictly (unknown fields and wrong JSON types are rejected), resolves the customer by caller_phone "
        "and emits `contact-received` (channel call_center). Re-sending a call (same source_system and "
        "call_id) is harmless. A message that cannot be accepted becomes a `dead-letters` event whose "
        "reason starts with the field name. Personal fields are marked x-pii."
    )
    for name in ("caller_phone", "caller_name", "caller_email"):
        schema["properties"][name]["x-pii"] = True
    schema["$id"] = f"{SCHEMA_BASE}{SCHEMA_FILE.name}"
    schema["examples"] = [CALLCENTER_EXAMPLE]
    return schema


register_inbound(InboundChannel(
    topic=CALLCENTER_CONTACTS, model=CallCenterMessage, receiver="intake",
    description=("Raw calls published by call-center systems: one UTF-8 JSON object per call (not an envelope). "
                 "Intake validates each strictly, resolves the customer by caller_phone and emits "
                 "`contact-received` (channel call_center); a re-sent call (same source_system and call_id) is "
                 "harmless; a message that cannot be accepted becomes a `dead-letters` event naming the field."),
    key_description="the caller's phone or the call id (any text: intake does not read the key)",
    example=CALLCENTER_EXAMPLE))


def inbound_schema_text() -> str:
    return json.dumps(inbound_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_inbound_schema(path: Path = SCHEMA_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(inbound_schema_text())
    return path


if __name__ == "__main__":  # python -m services.intake.callcenter_feed
    print(write_inbound_schema())
