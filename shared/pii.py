"""Recognising and redacting personal data (pure: used by the log processors and by
domains that mask data for people).

Logs never hold personal data, request bodies or rejected input: values under the keys of
the masking catalogue (``shared.masking.PERSONAL_FIELDS``: names, phones, free text about a
person, ...), under secrets' keys and under the keys that carry what a client sent
(``input``, ``body``) are "[redacted]" at any depth, and phones, emails, resident ID numbers
and pydantic's echo of a rejected value (``input_value=...``) are replaced inside free text.

The masking for people (one catalogue, one rule) lives in ``shared.masking``; it is
re-exported here for the services' domain packages, which import only the pure
``shared.events``, ``shared.errors`` and ``shared.pii`` (tests/unit/test_domain_purity.py).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from .masking import PERSONAL_FIELDS

REDACTED = "[redacted]"

_LOG_SAFE_KEYS = frozenset(
    {"event", "level", "logger", "logger_name", "timestamp", "exc_info", "stack_info"}
)
_LOG_PII_EXACT = frozenset(
    {
        "name", "full_name", "first_name", "last_name", "surname", "customer_name", "caller_name",
        "referrer_name", "informant_name", "contact_name", "id_number", "id_card", "birthday",
        "date_of_birth", "postcode", "home_postcode", "work_postcode",
        # secrets
        "authorization", "auth_secret", "token", "password", "secret",
        # what a client sent: a request body, a rejected value (pydantic's and FastAPI's `input`)
        "input", "input_value", "body", "request_body", "raw_body",
    }
)
_LOG_PII_PARTS = ("phone", "mobile", "email", "address", "id_number")

# PII that slipped into free text: mainland mobiles (any common spelling), E.164
# numbers, email addresses and 18-digit resident IDs.
_TEXT_PII = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
    r"|(?<![\w])\d{17}[\dXx](?![\w])"
    r"|(?<![\w+])(?:\+|00)?(?:\(?\+?86\)?[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?![\w])"
    r"|(?<![\w])\+\d{8,15}(?![\w])"
)
# pydantic's text of a validation error echoes each rejected value: "[type=..., input_value=..., input_type=str]"
_INPUT_ECHO = re.compile(r"input_value=.*?, input_type=", re.DOTALL)
_LOG_PASSTHROUGH = frozenset({"exc_info", "stack_info", "level", "logger", "logger_name", "timestamp"})


def is_pii_key(key: str) -> bool:
    """Would ``redact_pii`` hide the value under this key?"""
    k = key.lower()
    if k in _LOG_SAFE_KEYS:
        return False
    return k in _LOG_PII_EXACT or k in PERSONAL_FIELDS or any(part in k for part in _LOG_PII_PARTS)


def redact_text(text: str) -> str:
    """Replace phone numbers, emails, ID numbers and echoed rejected values inside free text."""
    text = _INPUT_ECHO.sub(f"input_value={REDACTED}, input_type=", text)
    return _TEXT_PII.sub(REDACTED, text)


def _redact(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return REDACTED
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and is_pii_key(k) and v is not None
                else _redact(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, tuple):
        return tuple(_redact(v, depth + 1) for v in value)
    if isinstance(value, (list, set, frozenset)):
        return [_redact(v, depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_pii(_logger: Any, _method: str, event_dict: Mapping[str, Any]) -> dict[str, Any]:
    """structlog processor: hide personal data anywhere in the event dict.

    The caller's objects are not modified; ``exc_info``, ``stack_info`` and
    structlog's internal ``_*`` keys pass through untouched.
    """
    out: dict[str, Any] = {}
    for key, value in event_dict.items():
        if not isinstance(key, str):
            out[key] = _redact(value)
        elif key in _LOG_PASSTHROUGH or key.startswith("_"):
            out[key] = value
        elif is_pii_key(key) and value is not None:
            out[key] = REDACTED
        else:
            out[key] = _redact(value)
    return out
