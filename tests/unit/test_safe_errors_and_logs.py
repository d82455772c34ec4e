"""Errors and logs never carry what a client sent: a schema error is a 422 naming the field and
its problem, never the rejected input (a NaN or a lone surrogate used to turn it into a 500),
and no log line — structlog's, the standard library's, uvicorn's own — holds an exception's
message, a request body or a value under a personal key."""
from __future__ import annotations

import io
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


def post(client: TestClient, raw: str, path: str = "/contacts"):
    return client.post(path, content=raw.encode(), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(("field", "literal"), [("party_size", "NaN"), ("party_size", "Infinity"),
                                                ("party_size", "-Infinity"), ("budget", "1e400"),
                                                ("budget", "NaN"), ("name", '"\\ud800"'),
                                                ("notes", f'"{SECRET} \\udfff"')])
def test_a_schema_error_is_a_422_naming_the_field_without_the_input(client, field, literal):
    r = post(client, f'{{"name": "{SECRET}", "{field}": {literal}}}' if field != "name" else
             f'{{"notes": "{SECRET}", "name": {literal}}}')
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", field] and set(error) == {"loc", "msg", "type"}
    assert SECRET not in r.text and "\\ud800" not in r.text.lower()


def test_lone_surrogates_are_named_by_the_contract_types(client):
    with pytest.raises(ValidationError) as caught:
        Contact.model_validate({"name": "ok", "notes": "x\ud800"})
    [error] = caught.value.errors(include_input=False)
    assert error["loc"] == ("notes",) and error["type"] == "lone_surrogate" and "U+D800" in error["msg"]


def test_a_surrogate_in_a_key_or_a_made_up_field_name_still_answers_422():
    from shared.app import validation_detail

    assert validation_detail([{"loc": ("body", "na\ud800me"), "msg": "Extra inputs are not permitted",
                               "type": "extra_forbidden", "input": SECRET}]) == [
        {"loc": ["body", "na\ufffdme"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}]


def test_a_surrogate_in_a_key_answers_422(client):
    r = post(client, '{"na\\ud800me": 1, "party_size": "x"}')
    assert r.status_code == 422 and all(e["loc"][0] == "body" for e in r.json()["detail"])


def test_the_default_shape_of_other_errors_stays(client):
    r = post(client, '{"party_size": "x"}')
    assert r.json() == {"detail": [{"loc": ["body", "party_size"], "type": "int_parsing",
                                    "msg": "Input should be a valid integer, unable to parse string as an integer"}]}
    assert post(client, "{not json").status_code == 422


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
    """configure_logging as a service runs it, with uvicorn's own logging set up first; undone after."""
    from uvicorn.config import LOGGING_CONFIG

    stream = io.StringIO()
    saved_root = list(logging.getLogger().handlers)
    logging.config.dictConfig(LOGGING_CONFIG)
    uvicorn_handler = logging.StreamHandler(stream)
    error_logger = logging.getLogger("uvicorn.error")
    parent = logging.getLogger("uvicorn")
    saved_parent = list(parent.handlers)
    parent.handlers = [uvicorn_handler]  # uvicorn's "default" handler, here into a buffer
    try:
        shared_logging.configure_logging("intake")
        yield stream, error_logger
    finally:
        parent.handlers = saved_parent
        for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
            for handler in getattr(logger, "handlers", []):
                for f in [f for f in handler.filters if isinstance(f, shared_logging.RedactingFilter)]:
                    handler.removeFilter(f)
        logging.getLogger().handlers = saved_root
        structlog.reset_defaults()


def test_uvicorns_own_error_log_is_filtered_too(configured_logging):
    stream, error_logger = configured_logging
    assert error_logger.propagate and not logging.getLogger("uvicorn").propagate  # never reaches the root
    try:
        raise RuntimeError(f"bad input from {SECRET}, phone 13800138000") from raise_validation_error()
    except RuntimeError as exc:
        error_logger.error("Exception in ASGI application\n", exc_info=exc)
    error_logger.warning("lookup %s failed for %s", "13800138000", "li@example.com")
    text = stream.getvalue()
    assert "Exception in ASGI application" in text and "RuntimeError" in text
    assert SECRET not in text and "13800138000" not in text and "li@example.com" not in text and REJECTED not in text


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
