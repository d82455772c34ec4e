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
from typing import Any, TextIO

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


class _JsonHandler(logging.StreamHandler):
    """The root's handler this module installs (replaced, not doubled, when configured again)."""


# uvicorn's own loggers: routed to the root, so their lines are JSON like every other
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def configure_logging(service: str, level: str = "INFO", stream: TextIO | None = None,
                      levels: str = "") -> None:
    """Every line the process writes is one JSON object with `timestamp`, `level`, `event`,
    `service` and, while a request is served, `request_id`: structlog's directly, the standard
    library's (uvicorn, asyncpg, aiokafka) through the same processors."""
    stream = stream or sys.stderr
    add_service = _add_service(service)
    shared_chain: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service,
    ]
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _JsonHandler)]:
        root.removeHandler(old)
    handler = _JsonHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared_chain, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, redact_pii,
                    structlog.processors.JSONRenderer()],
    ))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, _, named_level in (item.partition("=") for item in levels.split(",") if "=" in item):
        logging.getLogger(name.strip()).setLevel(named_level.strip().upper())
    logging.captureWarnings(True)  # a library's warning is a log line too, not loose text on stderr
    for name in _UVICORN:
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = [], True
    for each in _all_handlers():  # the root's and those of loggers that do not propagate
        if not any(isinstance(f, RedactingFilter) for f in each.filters):
            each.addFilter(RedactingFilter())
    structlog.configure(
        processors=[
            *shared_chain,
            # tracebacks without messages, then redacted like the rest
            structlog.processors.ExceptionRenderer(_safe_exc_info),
            redact_pii,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        # not cached: module-level loggers follow a later configure_logging (a test's buffer, a
        # service that configures again in its lifespan) at the cost of a bind per line
        cache_logger_on_first_use=False,
    )


def _add_service(service: str):
    def add_service(_: Any, __: str, event: dict) -> dict:
        event.setdefault("service", service)
        return event

    return add_service


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
