"""Decode an envelope's payload into its typed model, upcasting old versions.

An upcaster turns the JSON of version N into the JSON of version N+1; decoding
applies them in a chain, so a consumer only ever sees the latest model. Every
version below an event type's latest must have an upcaster (tests/unit check it).

Policy by `schema_version`: older than the latest — checked against that version's
model when the contract still has it (`PAST_PAYLOADS`), then upcast; newer than this
code knows — refused (UnknownEvent naming `schema_version`), so a consumer
dead-letters it rather than guess at fields it has never seen.

Upcasting works on opened payloads: callers unseal an envelope first (shared.pii_seal)
and decode or upcast it after.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .contract import ALL_PAYLOADS, PAST_PAYLOADS
from .envelope import Envelope, EventPayload
from .upcasters import (
    contact_received_v1_to_v2,
    contact_received_v2_to_v3,
    followup_logged_v1_to_v2,
    prospect_graded_v1_to_v2,
)

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEvent(ValueError):
    """The event type or schema version is not part of the contract."""


LATEST: dict[str, type[EventPayload]] = {p.EVENT_TYPE: p for p in ALL_PAYLOADS}
# Every model the contract has, by (event_type, version): the latest and the past ones kept.
MODELS: dict[tuple[str, int], type[EventPayload]] = {
    (p.EVENT_TYPE, p.VERSION): p for p in (*PAST_PAYLOADS, *ALL_PAYLOADS)}
# (event_type, from_version) -> upcaster to from_version + 1
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("contact-received", 1): contact_received_v1_to_v2,
    ("contact-received", 2): contact_received_v2_to_v3,
    ("followup-logged", 1): followup_logged_v1_to_v2,
    ("prospect-graded", 1): prospect_graded_v1_to_v2,
}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


def upcast(event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON of `payload` (of `version`) at the latest version of its type; UnknownEvent for
    an unknown type, a version newer than this code knows, or a gap in the upcaster chain."""
    model = LATEST.get(event_type)
    if model is None:
        raise UnknownEvent(f"event_type: unknown event type {event_type!r}")
    if version > model.VERSION:
        raise UnknownEvent(f"schema_version: {version} is newer than supported {model.VERSION}")
    data = dict(payload)
    while version < model.VERSION:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise UnknownEvent(f"schema_version: no upcaster from version {version}")
        data, version = step(data), version + 1
    return data


def decode(envelope: Envelope) -> EventPayload:
    """The typed, latest-version payload of an (opened) envelope (raises on bad data)."""
    model = LATEST.get(envelope.event_type)
    if model is not None and envelope.schema_version == model.VERSION:  # current: nothing to upcast
        return model.model_validate(envelope.payload)
    data = upcast(envelope.event_type, envelope.schema_version, envelope.payload)
    model = LATEST[envelope.event_type]
    if envelope.schema_version < model.VERSION and (past := MODELS.get((model.EVENT_TYPE, envelope.schema_version))):
        past.model_validate(envelope.payload)  # a valid old event, not a newer one under an old number
    return model.model_validate(data)


def latest_payload(event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """The (opened) payload at its type's latest version, for readers of a stored log that fold
    JSON rather than models: the same object when it is current or cannot be upcast (an unknown type)."""
    model = LATEST.get(event_type)
    if model is None or version >= model.VERSION:
        return payload
    try:
        return upcast(event_type, version, payload)
    except UnknownEvent:
        return payload


def upcast_envelope(envelope: Envelope) -> Envelope:
    """The (opened) envelope at its type's latest version (latest_payload); unchanged when it is
    current or cannot be upcast."""
    payload = latest_payload(envelope.event_type, envelope.schema_version, envelope.payload)
    if payload is envelope.payload:
        return envelope
    return envelope.model_copy(update={"payload": payload, "schema_version": LATEST[envelope.event_type].VERSION})
