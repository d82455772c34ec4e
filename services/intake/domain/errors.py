"""Domain errors that always name the offending field."""
from __future__ import annotations

from pydantic import ValidationError


class DomainValidationError(ValueError):
    """Bad input; ``field`` names the offending field (as the user sent it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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
