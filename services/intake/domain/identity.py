"""Identity: normalised phone and email, and resolving a contact to a customer.

Rule (spec section 1): a new contact whose normalised phone (E.164, mainland
numbers +86) or normalised email matches a known customer *is* that customer.

Conflict rule (our choice, documented): when the phone matches customer X and
the email matches a different customer Y, **the phone wins** — the contact is
attached to X (a phone number is verified by every call, an email address is
typed and often shared by a family or an office) — and the pair (X, Y) is
flagged as a merge candidate for a person to confirm. Nothing is merged
automatically, and the email key stays with Y until a merge.
"""
from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import phonenumbers
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from .errors import DomainValidationError

MAX_RAW_PHONE_LENGTH = 40
MAX_EMAIL_LENGTH = 254
MAX_EMAIL_LOCAL_LENGTH = 64

# Characters a human may use to format a phone number; anything else (letters,
# "转"/"ext" extensions, ...) is rejected rather than guessed at.
_PHONE_FORMATTING = re.compile(r"[\s\-\.\(\)/\+]")


def normalise_phone(raw: str, default_region: str = "CN", *, field: str = "phone") -> str:
    """A phone number in E.164 ("+8613800138000"); raises ``DomainValidationError``.

    Numbers without a country code are read in ``default_region`` (mainland China:
    "138 0013 8000", "0086 13800138000", "(+86)13800138000" and
    "+86-138-0013-8000" all give "+8613800138000"). Full-width digits are accepted.
    Extensions are rejected: two people behind one switchboard would otherwise
    share an identity key.
    """
    if not isinstance(raw, str):
        raise DomainValidationError(field, "must be a string")
    if raw in _NORMALISED_PHONES:
        return raw
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise DomainValidationError(field, "must not be empty")
    if len(text) > MAX_RAW_PHONE_LENGTH:
        raise DomainValidationError(field, f"at most {MAX_RAW_PHONE_LENGTH} characters")
    rest = _PHONE_FORMATTING.sub("", text)
    if not rest.isdigit() or not rest.isascii():
        raise DomainValidationError(
            field, "may contain only digits, spaces, '+', '-', '.', '/' and brackets"
        )
    if text.count("+") > 1:
        raise DomainValidationError(field, "not a valid phone number")
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise DomainValidationError(field, "not a valid phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise DomainValidationError(field, "not a valid phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(_NORMALISED_PHONES) >= _NORMALISED_PHONES_KEPT:
        _NORMALISED_PHONES.clear()
    _NORMALISED_PHONES.add(e164)
    return e164


# Numbers this process normalised recently: normalising is idempotent, so one of them given again (a
# contact's phone copied onto its card, an identity key) is returned as it is, without a second parse
# (a phonenumbers parse is most of what taking in a contact costs in Python). Bounded; cleared when full.
_NORMALISED_PHONES: set[str] = set()
_NORMALISED_PHONES_KEPT = 100_000


# RFC 5322 dot-atom "atext" (ASCII); non-ASCII letters/digits are also allowed
# in the local part (RFC 6531 internationalised addresses).
_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _local_atom_ok(atom: str) -> bool:
    if _ATEXT.match(atom):
        return True
    return all(
        _ATEXT.match(ch) or (ord(ch) > 127 and unicodedata.category(ch)[0] in "LN")
        for ch in atom
    )


def normalise_email(raw: str, *, field: str = "email") -> str:
    """A normalised email address (trimmed, lower-cased; IDNA domain), or raises.

    The whole address is lower-cased: the local part is case-sensitive in theory
    and never in practice, and identity matching must not depend on it. Provider
    tricks (Gmail dots, "+tags") are *not* folded: they may be different people.
    """
    if not isinstance(raw, str):
        raise DomainValidationError(field, "must be a string")
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        raise DomainValidationError(field, "must not be empty")
    if len(text) > MAX_EMAIL_LENGTH:
        raise DomainValidationError(field, f"at most {MAX_EMAIL_LENGTH} characters")
    if text.count("@") != 1:
        raise DomainValidationError(field, "not a valid email address (exactly one '@')")
    local, domain = text.split("@")
    if not local or len(local) > MAX_EMAIL_LOCAL_LENGTH:
        raise DomainValidationError(field, "not a valid email address (local part)")
    if not all(atom and _local_atom_ok(atom) for atom in local.split(".")):
        raise DomainValidationError(field, "not a valid email address (local part)")
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise DomainValidationError(field, "not a valid email address (domain)") from exc
    labels = ascii_domain.split(".")
    if (
        len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or not (labels[-1].isalpha() or labels[-1].startswith("xn--"))
        or len(labels[-1]) < 2
    ):
        raise DomainValidationError(field, "not a valid email address (domain)")
    result = f"{local.lower()}@{ascii_domain}"
    if len(result) > MAX_EMAIL_LENGTH:
        raise DomainValidationError(field, f"at most {MAX_EMAIL_LENGTH} characters")
    return result


def _pydantic_adapter(fn: Any, error_type: str) -> Any:
    def validate(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, (int,)) and not isinstance(value, bool):
            value = str(value)  # spreadsheets store phone numbers as numbers
        if isinstance(value, str) and not value.strip():
            return None
        try:
            return fn(value)
        except DomainValidationError as exc:
            raise PydanticCustomError(error_type, exc.message) from None

    return validate


Phone = Annotated[str, BeforeValidator(_pydantic_adapter(normalise_phone, "invalid_phone"))]
"""A pydantic field type: any spelling in, E.164 out (blank means not given)."""
OptPhone = Annotated[
    str | None, BeforeValidator(_pydantic_adapter(normalise_phone, "invalid_phone"))
]
Email = Annotated[str, BeforeValidator(_pydantic_adapter(normalise_email, "invalid_email"))]
OptEmail = Annotated[
    str | None, BeforeValidator(_pydantic_adapter(normalise_email, "invalid_email"))
]


class KeyKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class IdentityKey:
    """One lookup key of the customer registry; ``str()`` gives "phone:+86...". """

    kind: KeyKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.value}"


def identity_keys(phone: str | None, email: str | None) -> tuple[IdentityKey, ...]:
    """The lookup keys of a contact, phone first; inputs must already be normalised.

    Normalising again is harmless (``normalise_*`` are idempotent) and catches a
    caller who forgot.
    """
    keys: list[IdentityKey] = []
    if phone:
        keys.append(IdentityKey(KeyKind.PHONE, normalise_phone(phone)))
    if email:
        keys.append(IdentityKey(KeyKind.EMAIL, normalise_email(email)))
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class IdentityResolution:
    """Outcome of resolving one contact against the registry.

    ``customer_id`` is None for a new customer (the runtime creates one);
    ``keys_to_claim`` are the contact's keys not yet owned by anyone, to be
    registered for the resolved (or new) customer; ``merge_candidate`` is the
    other customer when phone and email point at two different customers.
    """

    customer_id: uuid.UUID | None
    matched_by: KeyKind | None
    keys_to_claim: tuple[IdentityKey, ...]
    merge_candidate: uuid.UUID | None = None

    @property
    def is_new_customer(self) -> bool:
        return self.customer_id is None

    @property
    def has_conflict(self) -> bool:
        return self.merge_candidate is not None


def resolve_identity(
    keys: tuple[IdentityKey, ...] | list[IdentityKey],
    owners: dict[IdentityKey, uuid.UUID],
) -> IdentityResolution:
    """Decide which customer a contact is, given the current owner of each key.

    ``owners`` maps each of the contact's keys that the registry already knows
    to its customer id (the runtime looks them up; keys absent are unknown).
    Phone wins over email; a different email owner becomes ``merge_candidate``.
    """
    phone_owner = next((owners[k] for k in keys if k.kind is KeyKind.PHONE and k in owners), None)
    email_owner = next((owners[k] for k in keys if k.kind is KeyKind.EMAIL and k in owners), None)
    unowned = tuple(k for k in keys if k not in owners)
    if phone_owner is not None:
        candidate = email_owner if email_owner not in (None, phone_owner) else None
        return IdentityResolution(phone_owner, KeyKind.PHONE, unowned, candidate)
    if email_owner is not None:
        return IdentityResolution(email_owner, KeyKind.EMAIL, unowned)
    return IdentityResolution(None, None, unowned)
