"""Errors and logs never carry what a client sent: a schema error is a 422 naming the field and
its problem, never the rejected input (a NaN or a lone surrogate used to turn it into a 500),
and no log line — structlog's, the standard library's, uvicorn's own — holds an exception's
message, a request body or a value under a personal key."""
from __future__ import annotations

import io
import json
import logging
import logging.config
import uuid
from decimal import Decimal

import pytest
import structlog
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared import logging as shared_logging
from shared.app import ServiceSpec, create_app
from shared.events.contract.types import ShortText, Text
from shared.settings import Settings
from tests.support.problems import problem_fields

# Made at run time, so that no source line a traceback quotes holds them.
SECRET = f"Secret Person {uuid.uuid4().hex[:10]}"
REJECTED = f"many-{uuid.uuid4().hex[:10]}"


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    notes: Text | None = None
    party_size: int | None = Field(default=None, ge=1)
    budget: Decimal | None = Field(default=None, max_digits=14, decimal_places=2)


@pytest.fixture(scope="module")
def client() -> TestClient:
    router = APIRouter()

    @router.post("/contacts", status_code=201)
    async def post_contact(body: Contact) -> dict:
        return {"ok": True}

    @router.post("/boom")
    async def boom(body: Contact) -> dict:
        raise ValueError(f"cannot store {body.name}")

    app = create_app(ServiceSpec(name="intake", title="t", routers=[router]), Settings(service="intake"))
    return TestClient(app, raise_server_exceptions=False)  # no lifespan: no database needed


def post(client: TestClient, raw: str, path: str = "/contacts", headers: dict | None = None):
    return client.post(path, content=raw.encode(), headers={"Content-Type": "application/json", **(headers or {})})


@pytest.mark.parametrize(("field", "literal"), [("party_size", "NaN"), ("party_size", "Infinity"),
                                                ("party_size", "-Infinity"), ("budget", "1e400"),
                                                ("budget", "NaN"), ("name", '"\\ud800"'),
                                                ("notes", f'"{SECRET} \\udfff"')])
def test_a_schema_error_is_a_422_naming_the_field_without_the_input(client, field, literal):
    r = post(client, f'{{"name": "{SECRET}", "{field}": {literal}}}' if field != "name" else
             f'{{"notes": "{SECRET}", "name": {literal}}}')
    assert r.status_code == 422, r.text
    assert problem_fields(r) == [field]
    assert SECRET not in r.text and "\\ud800" not in r.text.lower()


def test_lone_surrogates_are_named_by_the_contract_types(client):
    with pytest.raises(ValidationError) as caught:
        Contact.model_validate({"name": "ok", "notes": "x\ud800"})
    [error] = caught.value.errors(include_input=False)
    assert error["loc"] == ("notes",) and error["type"] == "lone_surrogate" and "U+D800" in error["msg"]


def test_a_surrogate_in_a_key_or_a_made_up_field_name_still_answers_422():
    from shared.problems import schema_errors

    assert schema_errors([{"loc": ("body", "na\ud800me"), "msg": "Extra inputs are not permitted",
                           "type": "extra_forbidden", "input": SECRET}]) == [
        {"field": "na\ufffdme", "message": "Extra inputs are not permitted"}]


def test_a_surrogate_in_a_key_answers_422(client):
    r = post(client, '{"na\\ud800me": 1, "party_size": "x"}')
    assert r.status_code == 422 and problem_fields(r) == ["body"]  # not JSON python can hold


def test_a_schema_error_is_a_problem_naming_the_field(client):
    r = post(client, '{"party_size": "x"}', headers={"X-Request-ID": "req-17"})
    assert r.headers["content-type"] == "application/problem+json" and r.headers["x-request-id"] == "req-17"
    assert r.json() == {"type": "/problems/validation", "title": "Invalid input", "status": 422,
                        "detail": "1 field is invalid: party_size.", "instance": "/contacts", "request_id": "req-17",
                        "errors": [{"field": "party_size",
                                    "message": "Input should be a valid integer, unable to parse string as an integer"}]}
    assert problem_fields(post(client, "{not json")) == ["body"]


# ------------------------------------------------------------------ logs


def raise_validation_error() -> ValidationError:
    try:
        Contact.model_validate({"name": SECRET, "party_size": REJECTED})
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


def test_a_traceback_keeps_frames_and_types_and_drops_messages():
    try:
        try:
            raise raise_validation_error()
        except ValidationError as inner:
            raise RuntimeError(f"could not save {SECRET}") from inner
    except RuntimeError as exc:
        text = shared_logging.safe_traceback(exc)
    assert SECRET not in text and REJECTED not in text
    assert "pydantic_core._pydantic_core.ValidationError" in text and "RuntimeError" in text
    assert "direct cause" in text and "test_safe_errors_and_logs.py" in text


@pytest.fixture
def configured_logging():
    """configure_logging as a service runs it, with uvicorn's own logging set up first (as a
    uvicorn started with its default config would have it), writing into a buffer; undone after."""
    from uvicorn.config import LOGGING_CONFIG

    stream = io.StringIO()
    root = logging.getLogger()
    saved_root, saved_level = list(root.handlers), root.level
    uvicorn_loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(lg, list(lg.handlers), lg.propagate) for lg in uvicorn_loggers]
    logging.config.dictConfig(LOGGING_CONFIG)
    try:
        shared_logging.configure_logging("intake", stream=stream)
        yield stream, logging.getLogger("uvicorn.error")
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers, logger.propagate = handlers, propagate
        for logger in [root, *logging.Logger.manager.loggerDict.values()]:
            for handler in getattr(logger, "handlers", []):
                for f in [f for f in handler.filters if isinstance(f, shared_logging.RedactingFilter)]:
                    handler.removeFilter(f)
        root.handlers = saved_root
        root.setLevel(saved_level)
        structlog.reset_defaults()


def json_lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_uvicorns_own_error_log_is_json_and_filtered_too(configured_logging):
    stream, error_logger = configured_logging
    assert not logging.getLogger("uvicorn").handlers and logging.getLogger("uvicorn").propagate  # via the root
    try:
        raise RuntimeError(f"bad input from {SECRET}, phone 13800138000") from raise_validation_error()
    except RuntimeError as exc:
        error_logger.error("Exception in ASGI application\n", exc_info=exc)
    error_logger.warning("lookup %s failed for %s", "13800138000", "li@example.com")
    text = stream.getvalue()
    lines = json_lines(stream)  # every line is one JSON object
    assert [line["level"] for line in lines] == ["error", "warning"]
    assert all(line["service"] == "intake" and line["logger"] == "uvicorn.error" for line in lines)
    assert "Exception in ASGI application" in lines[0]["event"] and "RuntimeError" in lines[0]["event"]
    assert SECRET not in text and "13800138000" not in text and "li@example.com" not in text and REJECTED not in text


def test_a_library_log_line_is_json_with_the_request_id(configured_logging):
    stream, _ = configured_logging
    with structlog.contextvars.bound_contextvars(request_id="req-9"):
        logging.getLogger("asyncpg.pool").warning("connection %s lost", "13800138000")
        structlog.get_logger("t").info("handled", phone="13800138000")
    lines = json_lines(stream)
    assert [line["request_id"] for line in lines] == ["req-9", "req-9"]
    assert "13800138000" not in stream.getvalue()


def test_structlog_lines_hold_no_exception_message_or_personal_value(configured_logging):
    out = io.StringIO()
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=out))  # the service's processors, here
    log = structlog.get_logger("t")
    try:
        raise raise_validation_error()
    except ValidationError:
        log.error("unhandled_error", path="/v1/contacts", purpose="looking for a seven-seater", body={"x": 1},
                  error=repr(raise_validation_error()), exc_info=True)
    err = out.getvalue()
    assert "unhandled_error" in err and "ValidationError" in err
    assert SECRET not in err and "seven-seater" not in err and REJECTED not in err
