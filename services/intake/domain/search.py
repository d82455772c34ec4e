"""Reading a customer search (`GET /v1/customers?q=`): what the words typed into one box mean.

- something with an `@` is an email address, matched whole (normalised as identity keys are:
  trimmed, lower-cased);
- digits (formatted as people write phones: spaces, `+`, `-`, brackets) are the **end** of a phone
  number: at least `MIN_PHONE_DIGITS` of them ("the number ending 8000"); a whole number in any
  spelling ("0086 138 0013 8000") is read as its E.164 digits first, so it matches as itself;
- anything else is the **beginning** of a name, case-insensitive, at least `MIN_NAME_CHARS`
  characters (a surname alone would list a directory).

Pure: the stores turn a `CustomerQuery` into SQL.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from .errors import DomainValidationError
from .identity import normalise_email, normalise_phone

MIN_PHONE_DIGITS = 4
MIN_NAME_CHARS = 2
MAX_QUERY_LENGTH = 100
FIELD = "q"

_PHONE_LIKE = re.compile(r"[\d\s\-\.\(\)/\+]+")
_WHOLE_NUMBER_DIGITS = 11  # a mainland mobile; shorter digit strings are only ever an ending


class SearchBy(StrEnum):
    NAME = "name"  # name prefix
    PHONE = "phone"  # phone suffix (digits)
    EMAIL = "email"  # whole address


@dataclass(frozen=True)
class CustomerQuery:
    by: SearchBy
    term: str  # name: the prefix, lower-cased; phone: the digits the number ends in; email: normalised


def parse_query(raw: str) -> CustomerQuery:
    """What `q` asks for; raises ``DomainValidationError`` naming `q` for what cannot be searched."""
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        raise DomainValidationError(FIELD, "must not be empty: give the beginning of a name, the last digits "
                                           "of a phone or an email address")
    if len(text) > MAX_QUERY_LENGTH:
        raise DomainValidationError(FIELD, f"at most {MAX_QUERY_LENGTH} characters")
    if any(unicodedata.category(ch)[0] == "C" for ch in text):
        raise DomainValidationError(FIELD, "must not contain control characters")
    if "@" in text:
        return CustomerQuery(SearchBy.EMAIL, normalise_email(text, field=FIELD))
    folded = unicodedata.normalize("NFKC", text)  # full-width digits
    if _PHONE_LIKE.fullmatch(folded) and any(ch.isdigit() for ch in folded):
        return CustomerQuery(SearchBy.PHONE, _phone_ending(folded))
    if len(text) < MIN_NAME_CHARS:
        raise DomainValidationError(FIELD, f"give at least {MIN_NAME_CHARS} characters of a name")
    return CustomerQuery(SearchBy.NAME, text.lower())


def _phone_ending(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    if len(digits) < MIN_PHONE_DIGITS:
        raise DomainValidationError(FIELD, f"give at least {MIN_PHONE_DIGITS} digits of a phone number")
    if len(digits) >= _WHOLE_NUMBER_DIGITS or text.startswith("+"):
        try:  # a whole number: its E.164 digits, whatever the spelling ("0086 ...", "+86-...")
            return normalise_phone(text, field=FIELD).removeprefix("+")
        except DomainValidationError:
            pass  # not a valid whole number: still the digits it ends in
    return digits


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix` (code point order, which is
    UTF-8 byte order): `prefix <= s < bound` is exactly "s starts with prefix". None: no bound (a
    prefix of nothing but the last code point)."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if 0xD800 <= last <= 0xDFFF:  # no text holds a surrogate: skip the block
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]  # the last code point has no successor: bound the shorter prefix
    return None
