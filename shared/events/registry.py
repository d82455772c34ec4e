"""Decode an envelope's payload into its typed model, upcasting old versions.

An upcaster turns the JSON of version N into the JSON of version N+1; decoding
applies them in a chain, so a consumer only ever sees the latest model.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .contract import ALL_PAYLOADS
from .envelope import Envelope, EventPayload

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEvent(ValueError):
    """The event type or schema version is not part of the contract."""


LATEST: dict[str, type[EventPayload]] = {p.EVENT_TYPE: p for p in ALL_PAYLOADS}
# (event_type, from_version) -> upcaster to from_version + 1
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


def decode(envelope: Envelope) -> EventPayload:
    """The typed, latest-version payload of an envelope (raises on bad data)."""
    model = LATEST.get(envelope.event_type)
    if model is None:
        raise UnknownEvent(f"event_type: unknown event type {envelope.event_type!r}")
    version, data = envelope.schema_version, dict(envelope.payload)
    if version > model.VERSION:
        raise UnknownEvent(f"schema_version: {version} is newer than supported {model.VERSION}")
    while version < model.VERSION:
        step = UPCASTERS.get((envelope.event_type, version))
        if step is None:
            raise UnknownEvent(f"schema_version: no upcaster from version {version}")
        data, version = step(data), version + 1
    return model.model_validate(data)
