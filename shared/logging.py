"""Structured JSON logs (structlog) with personal data redacted before output.

``redact_pii`` is the one redaction processor of the project: values under
personal-data keys (phone, email, id_number, name, address, ...; any depth,
any case) and secrets (token, authorization, ...) become "[redacted]", and
phone numbers, emails and resident ID numbers inside free text are replaced.

Exceptions are logged with their frames and types only, never their messages: a message
may carry what a client sent (pydantic's and FastAPI's validation errors echo every
rejected value, a database error the conflicting key). Every handler the process has
when logging is configured (the root's, uvicorn's own) gets the same filter, so uvicorn's
"Exception in ASGI application" is no way around it.
"""
from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

import structlog

from .pii import redact_pii, redact_text


def safe_traceback(exc: BaseException) -> str:
    """The traceback of `exc` (and the exceptions it was raised from) with the frames and the
    exception types, and none of the messages."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts: list[str] = []
    for i, error in enumerate(reversed(chain)):
        if i:
            parts.append("\nThe above exception was the direct cause of the following exception:\n\n"
                         if error.__cause__ is not None else
                         "\nDuring handling of the above exception, another exception occurred:\n\n")
        if error.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_list(traceback.extract_tb(error.__traceback__)))
        kind = type(error)
        name = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else \
            f"{kind.__module__}.{kind.__qualname__}"
        parts.append(f"{name} (message withheld from the log)\n")
    return "".join(parts)


def _safe_exc_info(exc_info: Any) -> str:
    """structlog's exception formatter: `safe_traceback` of an exc_info tuple."""
    error = exc_info[1] if isinstance(exc_info, tuple) else exc_info
    return safe_traceback(error) if isinstance(error, BaseException) else ""


class RedactingFilter(logging.Filter):
    """Standard-library records (uvicorn, asyncpg, tracebacks) get the same text redaction, and
    their exceptions are rendered without messages (`safe_traceback`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record: its template only
            message = str(record.msg)
        if record.exc_info and isinstance(record.exc_info[1], BaseException):
            message += "\n" + safe_traceback(record.exc_info[1])
        record.exc_info, record.exc_text = None, None
        record.msg, record.args = redact_text(message), ()
        return True


def _all_handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    return list({id(h): h for lg in loggers for h in lg.handlers}.values())


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    for handler in _all_handlers():  # the root's and those of loggers that do not propagate (uvicorn)
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # tracebacks without messages, then redacted like the rest
            structlog.processors.ExceptionRenderer(_safe_exc_info),
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
