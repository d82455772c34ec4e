"""One error shape for every kind of error (RFC 9457 problem+json, shared/problems.py), request
ids taken or made and echoed on every answer, carried into log lines and into the events a
request causes; the request counter by route template and status; docs that load offline.
An app built by create_app without its lifespan: no database needed."""
from __future__ import annotations

import io
import json
import logging
import re
import uuid
from datetime import UTC, datetime

import jwt
import pytest
import structlog
from fastapi import APIRouter, Depends, Query
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import BaseModel, ConfigDict, Field

from shared import logging as shared_logging
from shared import request_context
from shared.app import ServiceSpec, create_app
from shared.auth import ALGORITHM, ISSUER, mint_token, require
from shared.errors import Conflict, TooManyRequests
from shared.events.contract import CustomerErased
from shared.events.enums import Role
from shared.events.envelope import new_event
from shared.settings import Settings
from tests.support.problems import problem, problem_fields

SECRET_NAME = f"Secret Person {uuid.uuid4().hex[:8]}"


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(max_length=5)


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"party_size": 2, "items": []}]})
    party_size: int = Field(ge=1)
    items: list[Item] = []


@pytest.fixture(scope="module")
def app():
    router = APIRouter(prefix="/v1")

    @router.post("/orders/{order_id}")
    async def post_order(order_id: int, body: Order, _=Depends(require(Role.MANAGER))) -> dict:
        raise Conflict("the order was already placed", field="order_id", location="path")

    @router.get("/lookups")
    async def lookup(phone: str = Query(max_length=20), _=Depends(require(Role.MANAGER))) -> dict:
        raise TooManyRequests("at most 3 lookups a minute", retry_after=7, field="phone")

    @router.get("/boom")
    async def boom() -> dict:
        raise ValueError(f"cannot store {SECRET_NAME}")

    @router.get("/unavailable")
    async def unavailable() -> dict:
        raise ConnectionRefusedError("database gone")

    @router.get("/correlation")
    async def correlation() -> dict:
        event = new_event(CustomerErased(requested_by="t", erased_at=datetime.now(UTC)), customer_id=uuid.uuid4(), producer="t")
        return {"correlation_id": str(event.correlation_id)}

    return create_app(ServiceSpec(name="intake", title="t", routers=[router]),
                      Settings(service="intake", max_body_bytes=1000, auth_secret="s" * 40))


@pytest.fixture(scope="module")
def client(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def bearer(app, **claims) -> dict:
    secret = app.state.settings.auth_secret.get_secret_value()
    if not claims:
        return {"Authorization": f"Bearer {mint_token(secret, Role.MANAGER)}"}
    token = jwt.encode({"iss": ISSUER, "sub": "x", "role": "manager", "iat": 0, "exp": 4102444800, **claims},
                       secret, algorithm=ALGORITHM)
    return {"Authorization": f"Bearer {token}"}


def test_every_kind_of_error_is_one_problem(app, client):
    manager = bearer(app)
    cases = [
        (client.post("/v1/orders/1", json={"party_size": 1}), 401, ["header.Authorization"]),
        (client.post("/v1/orders/1", json={"party_size": 1}, headers={"Authorization": "Bearer x.y.z"}), 401,
         ["header.Authorization"]),
        (client.post("/v1/orders/1", json={"party_size": 1}, headers=bearer(app, role="consultant")), 403, []),
        (client.post("/v1/orders/1", json={"party_size": 0, "items": [{"phone": "1"}, {"phone": SECRET_NAME}]},
                     headers=manager), 422, ["party_size", "items[1].phone"]),
        (client.post("/v1/orders/x", json={"party_size": 1}, headers=manager), 422, ["path.order_id"]),
        (client.post("/v1/orders/1", json={"party_size": 1}, headers=manager), 409, ["path.order_id"]),
        (client.get("/v1/lookups?phone=1", headers=manager), 429, ["query.phone"]),
        (client.get("/v1/no-such-thing"), 404, []),
        (client.delete("/v1/boom"), 405, []),
        (client.post("/v1/orders/1", content=b"x" * 2000, headers=manager), 413, ["header.content-length"]),
        (client.post("/v1/orders/1", content=iter([b"x" * 600, b"x" * 600]), headers=manager), 413, ["body"]),
        (client.get("/v1/unavailable"), 503, []),
        (client.get("/v1/boom"), 500, []),
    ]
    for response, status, fields in cases:
        assert response.status_code == status, response.text
        assert problem_fields(response) == fields, response.text
        assert SECRET_NAME not in response.text and "database gone" not in response.text
    by_status = {status: response for response, status, _ in reversed(cases)}  # the first of each status
    assert by_status[429].headers["retry-after"] == "7" and by_status[503].headers["retry-after"] == "1"
    assert by_status[401].headers["www-authenticate"] == "Bearer"
    assert by_status[405].headers["allow"] == "GET"
    assert problem(by_status[422])["detail"] == "2 fields are invalid: party_size, items[1].phone."
    assert problem(by_status[409])["detail"] == "the order was already placed"
    assert problem(by_status[404])["instance"] == "/v1/no-such-thing"


@pytest.mark.parametrize("claims", [{"role": ["manager"]}, {"role": 3}, {"consultant_id": 7}, {"team": {"a": 1}},
                                    {"sub": ["x"]}, {"role": "king"}, {"consultant_id": ""}])
def test_a_signed_token_with_wrongly_typed_claims_is_a_401(app, client, claims):
    r = client.get("/v1/lookups?phone=1", headers=bearer(app, **claims))
    assert r.status_code == 401 and problem_fields(r) == ["header.Authorization"], r.text


def test_a_problem_type_describes_itself(client):
    r = client.get("/problems/validation")
    assert r.status_code == 200 and r.json()["status"] == 422 and r.json()["title"] == "Invalid input"
    assert client.get("/problems/nonsense").status_code == 404


@pytest.mark.parametrize("sent", ["req-1", "4f1c2d3e-4b5a-6978-8796-a5b4c3d2e1f0", "x" * 128])
def test_a_plausible_request_id_is_kept_and_echoed_on_errors_too(client, sent):
    for r in (client.get("/health", headers={"X-Request-ID": sent}),
              client.get("/v1/boom", headers={"X-Request-ID": sent}),
              client.get("/v1/nope", headers={"X-Request-ID": sent})):
        assert r.headers["x-request-id"] == sent
    assert problem(r)["request_id"] == sent


@pytest.mark.parametrize("sent", ["x" * 129, "has space", "naïve", "", "tab\there"])
def test_an_implausible_request_id_is_replaced(client, sent):
    r = client.get("/health", headers={"X-Request-ID": sent.encode("utf-8")})
    assert r.headers["x-request-id"] != sent and re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


def test_without_one_each_request_gets_its_own(client):
    ids = {client.get("/health").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


def test_the_request_id_becomes_the_correlation_id_of_the_events_it_causes(client):
    sent = uuid.uuid4()
    assert client.get("/v1/correlation", headers={"X-Request-ID": str(sent)}).json()["correlation_id"] == str(sent)
    made = client.get("/v1/correlation")
    assert made.json()["correlation_id"] == str(uuid.UUID(made.headers["x-request-id"]))
    # not a UUID: the same id always maps to the same correlation id
    first, again = (client.get("/v1/correlation", headers={"X-Request-ID": "order-17"}).json() for _ in range(2))
    assert first == again and uuid.UUID(first["correlation_id"])
    assert request_context.correlation_id() is None  # outside a request: none


@pytest.fixture(scope="module", autouse=True)
def log_stream():
    """The service's logging, into a buffer (also keeps tracebacks short: frames only)."""
    stream = io.StringIO()
    shared_logging.configure_logging("intake", stream=stream)
    try:
        yield stream
    finally:
        root = logging.getLogger()
        root.handlers = [h for h in root.handlers if not isinstance(h, shared_logging._JsonHandler)]
        structlog.reset_defaults()


def test_each_request_writes_one_json_access_line_without_values(client, log_stream):
    log_stream.seek(0)
    log_stream.truncate()
    r = client.get("/v1/lookups?phone=13800138000", headers={"X-Request-ID": "req-access"})
    client.get("/v1/boom", headers={"X-Request-ID": "req-bug"})
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    access = [line for line in lines if line["event"] == "http_request"]
    assert [(a["method"], a["route"], a["status"], a["request_id"]) for a in access] == [
        ("GET", "/v1/lookups", 401, "req-access"), ("GET", "/v1/boom", 500, "req-bug")]
    assert all(isinstance(a["duration_ms"], float) and a["service"] == "intake" for a in access)
    [bug] = [line for line in lines if line["event"] == "unhandled_error"]
    assert bug["request_id"] == "req-bug" and "ValueError" in bug["exception"]
    text = log_stream.getvalue()
    assert "13800138000" not in text and SECRET_NAME not in text and r.status_code == 401


def requests_counted(method: str, route: str, status: str) -> float:
    return REGISTRY.get_sample_value("crm_http_requests_total",
                                     {"method": method, "route": route, "status": status}) or 0.0


def test_requests_are_counted_by_route_template_and_status(client):
    before = (requests_counted("GET", "/v1/boom", "500"), requests_counted("GET", "unmatched", "404"))
    client.get("/v1/boom")
    client.get(f"/v1/customers/{uuid.uuid4()}")  # no such route: one label for all, never the raw path
    after = (requests_counted("GET", "/v1/boom", "500"), requests_counted("GET", "unmatched", "404"))
    assert after == (before[0] + 1, before[1] + 1)
    text = client.get("/metrics").text
    assert 'crm_http_requests_total{method="GET",route="/v1/boom",status="500"}' in text
    assert "crm_http_request_seconds_bucket" in text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_load_everything_from_the_service_itself(client, page):
    html = client.get(page).text
    urls = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html)
    urls += re.findall(r"url:\s*'([^']+)'", html)  # Swagger UI's openapi url
    assert any(u.endswith(".js") for u in urls), html
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url} from elsewhere"
        assert client.get(url).status_code == 200, url
    assert "cdn" not in html.lower() and "fonts.googleapis" not in html


def test_every_operation_documents_its_problems(app):
    spec = app.openapi()
    post = spec["paths"]["/v1/orders/{order_id}"]["post"]
    assert {"401", "403", "404", "409", "413", "422", "503"} <= set(post["responses"])
    for status in ("401", "422", "409"):
        assert post["responses"][status]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "HTTPValidationError" not in json.dumps(spec)
    assert set(spec["components"]["schemas"]["Problem"]["required"]) == {
        "type", "title", "status", "detail", "instance", "request_id"}
