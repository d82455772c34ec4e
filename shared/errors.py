"""Errors a service reports to its callers; shared/problems.py renders every one of them as
one RFC 9457 problem (see docs/api.md).

A field is named by its JSON path in the request: a body field without prefix
(`party_size`, `contacts[3].phone`), the body as a whole as `body`, and anything
outside the body with its location first (`query.to`, `path.customer_id`,
`header.Idempotency-Key`)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

BODY = "body"


class FieldError(TypedDict):
    field: str
    message: str


def field_path(loc: Sequence[object]) -> str:
    """The JSON path of a location as FastAPI and pydantic give it (`("body", "contacts", 3, "phone")`)."""
    parts = list(loc)
    if not parts:
        return BODY
    where, rest = str(parts[0]), parts[1:]
    path = "" if where == BODY else where
    for part in rest:
        if isinstance(part, int) and not isinstance(part, bool):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or BODY


def dotted_loc(location: str, field: str | None) -> list[object]:
    """`location` plus a dotted field name (`contacts.3.phone`) as a location list, indexes as ints."""
    names = field.split(".") if field else []
    return [location, *(int(n) if n.isdigit() else n for n in names)]


class DomainError(Exception):
    """Base of business-rule failures that change nothing."""

    status_code = 422
    kind = "validation"  # the problem type's last segment (shared.problems.PROBLEM_TYPES)

    def __init__(self, message: str, field: str | None = None, location: str = BODY) -> None:
        super().__init__(message)
        self.message, self.field, self.location = message, field, location

    def headers(self) -> dict[str, str]:
        return {}

    def field_errors(self) -> list[FieldError]:
        """The fields this error names, each with what is wrong with it (none: the request as a whole)."""
        if not self.field:
            return []
        return [FieldError(field=field_path(dotted_loc(self.location, self.field)), message=self.message)]


class DomainValidationError(DomainError):
    """Input that passes the schema but breaks a rule; names the field."""


class Unauthorized(DomainError):
    """No bearer token, or one this system did not mint (bad signature, expired, wrongly typed claims)."""

    status_code = 401
    kind = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(DomainError):
    """The caller's role or relation to the customer does not allow this (shared.access)."""

    status_code = 403
    kind = "forbidden"


class TooManyRequests(DomainError):
    """The caller asked too often; `retry_after` seconds until the next try is allowed."""

    status_code = 429
    kind = "too-many-requests"

    def __init__(self, message: str, retry_after: int, field: str | None = None, location: str = "query") -> None:
        super().__init__(message, field=field, location=location)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class NotFound(DomainError):
    status_code = 404
    kind = "not-found"


class Conflict(DomainError):
    status_code = 409
    kind = "conflict"


class ConcurrencyConflict(Conflict):
    """Another writer changed the stream first (optimistic concurrency)."""
