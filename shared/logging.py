"""Structured JSON logs (structlog) with personal data redacted before output."""
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys whose values are personal data: never written to logs, at any depth.
PII_KEYS = frozenset(
    {"name", "phone", "email", "id_number", "address", "home_address", "work_address",
     "birthday", "caller_phone", "caller_name", "authorization", "auth_secret", "token"}
)
REDACTED = "[redacted]"


def _redact(value: Any) -> Any:
    if isinstance(value, MutableMapping):
        return {k: REDACTED if str(k).lower() in PII_KEYS else _redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v) for v in value]
    return value


def redact_pii(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: replace personal data anywhere in the event."""
    return _redact(event_dict)


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_pii,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
