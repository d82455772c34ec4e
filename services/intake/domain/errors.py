"""Domain errors that always name the offending field.

``DomainValidationError`` is the shared one (``shared.errors``, which the app
maps to HTTP 422 naming the field) with the domain's ``(field, message)``
argument order, so a rule broken deep in the domain reaches the caller as a 422
without translation.
"""
from __future__ import annotations

from pydantic import ValidationError

from shared import errors as shared_errors


class DomainValidationError(shared_errors.DomainValidationError, ValueError):
    """Bad input; ``field`` names the offending field (as the user sent it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field or None)
        self.field = field
        self.args = (f"{field}: {message}",)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def error_field(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a dotted field path ("" means the whole object)."""
    return ".".join(str(part) for part in loc)


def first_error(exc: ValidationError) -> tuple[str, str]:
    """The first error of a pydantic ``ValidationError`` as ``(field, message)``."""
    errors = exc.errors(include_url=False)
    if not errors:  # pragma: no cover - pydantic never raises an empty error
        return "", str(exc)
    err = errors[0]
    return error_field(tuple(err["loc"])), err["msg"]
