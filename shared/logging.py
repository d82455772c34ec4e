"""Structured JSON logs (structlog) with personal data redacted before output.

``redact_pii`` is the one redaction processor of the project: values under
personal-data keys (phone, email, id_number, name, address, ...; any depth,
any case) and secrets (token, authorization, ...) become "[redacted]", and
phone numbers, emails and resident ID numbers inside free text are replaced.
"""
from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

import structlog

from .pii import REDACTED, is_pii_key, redact_pii, redact_text  # noqa: F401 - the processors live there


class RedactingFilter(logging.Filter):
    """Standard-library records (uvicorn, asyncpg, tracebacks) get the same text redaction."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info))
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = redact_text(message), ()
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,  # before redaction: tracebacks are redacted too
            redact_pii,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
