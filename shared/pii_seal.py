"""Crypto-shredding of personal fields (pure: no database, no web framework).

A payload field the contract marks ``json_schema_extra={"pii": True}`` is stored
and published as ciphertext, sealed with its customer's own key (AES-256-GCM,
a random 96-bit nonce per value, associated data = customer id + field name,
so a sealed value cannot be moved to another customer or another field).
Erasing a customer destroys the key (``shared.runtime.vault``): every copy of
the value — in every outbox, event log, Kafka topic and backup of those — stays
ciphertext nobody can open, while the rest of the event (ids, amounts, grades,
times) is untouched.

A sealed value is a JSON string ``sealed:v1:<base64(nonce || ciphertext+tag)>``;
the plaintext inside is the value's JSON, so a dict (the customer card) comes
back as a dict. The envelope lists the sealed fields in ``sealed``; an envelope
without it is plaintext (written before sealing existed, or by a producer
without personal fields).

Opening with the key gives the value back; with no key (destroyed) a field
reads as its *erased value*, chosen so the payload model still validates:
``{}`` for a dict field, ``None`` for an optional one, ``"[erased]"`` for
required text (a complaint's description). Opening never falls back to the
ciphertext or to anything derived from it.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import types
import uuid
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Union, get_args, get_origin

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from . import json_exact
from .events.envelope import Envelope, EventPayload
from .events.registry import LATEST

PREFIX = "sealed:v1:"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce; random, and a key seals few values
ERASED_TEXT = "[erased]"


class SealError(ValueError):
    """A sealed value that cannot be opened with the key given (wrong key, tampered, malformed)."""


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return os.urandom(KEY_BYTES)


# json.dumps(value, ensure_ascii=False, separators=(",", ":")) without building an encoder per call
# (a batch of contacts seals thousands of values)
_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _aad(customer_id: uuid.UUID | str, field: str) -> bytes:
    return f"crm-pii/v1/{customer_id}/{field}".encode()


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise SealError(f"a key is {KEY_BYTES} bytes")


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def _cipher(key: bytes) -> AESGCM:
    _check_key(key)
    return AESGCM(key)


def seal_value(value: Any, key: bytes | AESGCM, *, customer_id: uuid.UUID | str, field: str) -> str:
    """The JSON of `value`, encrypted for this customer and field."""
    aead = key if isinstance(key, AESGCM) else _cipher(key)
    plaintext = _compact_json(value).encode()
    nonce = os.urandom(NONCE_BYTES)
    sealed = aead.encrypt(nonce, plaintext, _aad(customer_id, field))
    return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def open_value(token: str, key: bytes | AESGCM, *, customer_id: uuid.UUID | str, field: str) -> Any:
    """The value sealed in `token`; SealError unless this key sealed it for this customer and field."""
    aead = key if isinstance(key, AESGCM) else _cipher(key)
    if not is_sealed(token):
        raise SealError(f"{field}: not a sealed value")
    try:
        raw = base64.b64decode(token[len(PREFIX):].encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SealError(f"{field}: sealed value is not base64") from None
    if len(raw) < NONCE_BYTES + 16:
        raise SealError(f"{field}: sealed value is too short")
    try:
        plaintext = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(customer_id, field))
    except InvalidTag:
        raise SealError(f"{field}: sealed value does not open with this customer's key") from None
    return json_exact.loads(plaintext)


@cache
def pii_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of a payload model the contract marks personal (`"pii": True`), in model order."""
    return tuple(name for name, info in model.model_fields.items()
                 if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("pii") is True)


def _erased_value(model: type[BaseModel], name: str) -> Any:
    info = model.model_fields[name]
    annotation = info.annotation
    options = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
    if type(None) in options:
        return None
    for option in options:
        base = get_origin(option) or option
        if isinstance(base, type) and issubclass(base, Mapping):
            return {}
        if base is str:
            return ERASED_TEXT
    raise TypeError(f"{model.__name__}.{name} is personal but has no erased form (make it optional)")


@cache
def erased_values(model: type[BaseModel]) -> dict[str, Any]:
    """What each personal field of `model` reads as once its key is destroyed (the model still validates)."""
    return {name: _erased_value(model, name) for name in pii_fields(model)}


def seal_payload(payload: Mapping[str, Any], pii: Iterable[str], key: bytes, *,
                 customer_id: uuid.UUID | str) -> tuple[dict[str, Any], list[str]]:
    """A copy of `payload` with every personal field that has a value sealed; returns it and the
    names of the fields sealed (absent and null fields carry nothing and stay as they are)."""
    out = dict(payload)
    sealed: list[str] = []
    aead = _cipher(key)
    customer = str(customer_id)  # once, not once per field
    for name in pii:
        value = out.get(name)
        if value is None:
            continue
        out[name] = seal_value(value, aead, customer_id=customer, field=name)
        sealed.append(name)
    return out, sealed


def unseal_payload(payload: Mapping[str, Any], sealed: Iterable[str], key: bytes | None, *,
                   customer_id: uuid.UUID | str, model: type[BaseModel] | None = None,
                   strict: bool = True) -> dict[str, Any]:
    """A copy of `payload` with the `sealed` fields opened; with no key (destroyed) each reads as its
    erased value (from `model`; None when no model is given). SealError for a field that is not
    there, not sealed, or does not open with `key` — unless not `strict`: then such a field reads
    as erased too (for readers that must go on, such as a projection over a stored log)."""
    out = dict(payload)
    erased = erased_values(model) if model is not None else {}
    names = list(sealed)
    if strict and len(set(names)) != len(names):
        raise SealError("sealed: a field is named twice")
    aead = None if key is None else _cipher(key)
    customer = str(customer_id)  # once, not once per field
    for name in dict.fromkeys(names):
        try:
            if name not in out:
                raise SealError(f"sealed: {name} is not in the payload")
            if not is_sealed(out[name]):
                raise SealError(f"{name}: listed as sealed but is not")
            if aead is None:
                out[name] = erased.get(name)
            else:
                out[name] = open_value(out[name], aead, customer_id=customer, field=name)
        except SealError:
            if strict:
                raise
            if name in out:
                out[name] = erased.get(name)
    return out


# ------------------------------------------------------------------ envelopes
# The payload model (hence which fields are personal, and their erased values) is the
# latest version of the event type: envelopes are opened before upcasting, so a future
# version that renames a personal field must keep reading the old name here.


def _model_of(envelope: Envelope) -> type[EventPayload] | None:
    return LATEST.get(envelope.event_type)


def needs_sealing(envelope: Envelope) -> bool:
    """Does this (plaintext) envelope carry a value in a personal field?"""
    model = _model_of(envelope)
    if model is None or envelope.sealed:
        return False
    return any(envelope.payload.get(name) is not None for name in pii_fields(model))


def seal_envelope(envelope: Envelope, key: bytes) -> Envelope:
    """The envelope with its personal fields sealed for its customer (unchanged if it has none)."""
    if not needs_sealing(envelope):
        return envelope
    payload, sealed = seal_payload(envelope.payload, pii_fields(_model_of(envelope)), key,
                                   customer_id=envelope.customer_id)
    return envelope.model_copy(update={"payload": payload, "sealed": sealed})


def unseal_envelope(envelope: Envelope, key: bytes | None, *, strict: bool = True) -> Envelope:
    """The envelope with its sealed fields opened (erased values when `key` is None); SealError if a
    listed field is not sealed or does not open with the key (not `strict`: it reads as erased)."""
    if not envelope.sealed:
        return envelope
    payload = unseal_payload(envelope.payload, envelope.sealed, key, customer_id=envelope.customer_id,
                             model=_model_of(envelope), strict=strict)
    return envelope.model_copy(update={"payload": payload, "sealed": []})


def redact_envelope(envelope: Envelope) -> Envelope:
    """A plaintext envelope with its personal fields replaced by their erased values: for events
    stored before sealing existed, when their customer is erased. Sealed ones need nothing."""
    if not needs_sealing(envelope):
        return envelope
    model = _model_of(envelope)
    erased = erased_values(model)
    payload = {k: (erased[k] if k in erased and v is not None else v) for k, v in envelope.payload.items()}
    return envelope.model_copy(update={"payload": payload})


def personal_event_types() -> tuple[str, ...]:
    """The event types whose payload has personal fields."""
    return tuple(sorted(t for t, model in LATEST.items() if pii_fields(model)))


__all__ = [
    "ERASED_TEXT", "KEY_BYTES", "PREFIX", "SealError", "erased_values", "is_sealed", "needs_sealing", "new_key",
    "open_value", "personal_event_types", "pii_fields", "redact_envelope", "seal_envelope", "seal_payload",
    "seal_value", "unseal_envelope", "unseal_payload",
]
