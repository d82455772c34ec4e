"""Errors a service reports to its callers; shared/app.py maps them to HTTP."""


class DomainError(Exception):
    """Base of business-rule failures that change nothing."""

    status_code = 422

    def __init__(self, message: str, field: str | None = None, location: str = "body") -> None:
        super().__init__(message)
        self.message, self.field, self.location = message, field, location

    def headers(self) -> dict[str, str]:
        return {}

    def detail(self) -> list[dict]:
        loc = [self.location, *self.field.split(".")] if self.field else [self.location]
        return [{"loc": loc, "msg": self.message, "type": type(self).__name__}]


class DomainValidationError(DomainError):
    """Input that passes the schema but breaks a rule; names the field."""


class Forbidden(DomainError):
    """The caller's role or relation to the customer does not allow this (shared.access)."""

    status_code = 403


class TooManyRequests(DomainError):
    """The caller asked too often; `retry_after` seconds until the next try is allowed."""

    status_code = 429

    def __init__(self, message: str, retry_after: int, field: str | None = None, location: str = "query") -> None:
        super().__init__(message, field=field, location=location)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class ConcurrencyConflict(Conflict):
    """Another writer changed the stream first (optimistic concurrency)."""
