"""What an integrator and an operator meet on the running services: every operation documents
the problems it can answer and has an example body; the request id is echoed, lands in the
JSON log lines and becomes the correlation id of the events the request causes; /metrics
counts requests by route and status and carries the business gauges; the docs load offline."""
from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx
import jsonschema
import pytest

from tests.support.problems import problem, problem_fields

SERVICES = ("intake", "grading", "followup", "analytics")
WRITES = {"post", "put", "patch", "delete"}


def spec_of(stack, service: str) -> dict:
    return httpx.get(f"{stack.services[service].url}/openapi.json", timeout=10).json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in WRITES | {"get"} and "operations" not in op.get("tags", []):
                yield path, method, op


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_documents_its_problems_and_every_body_has_an_example(stack, service):
    spec = spec_of(stack, service)
    validator = {"components": spec["components"]}
    checked = 0
    for path, method, op in operations(spec):
        where = f"{service} {method.upper()} {path}"
        codes = set(op["responses"])
        params = op.get("parameters", [])
        expected = {"503"}
        expected |= {"422"} if params or "requestBody" in op else set()
        expected |= {"401", "403"} if op.get("security") else set()
        expected |= {"404"} if any(p["in"] == "path" for p in params) else set()
        expected |= {"409"} if method in WRITES else set()
        assert expected <= codes, f"{where} does not document {expected - codes}"
        for code in codes - {"200", "201", "202", "204"}:
            assert list(op["responses"][code]["content"]) == ["application/problem+json"], (where, code)
        if path.startswith("/v1/"):
            assert op.get("security"), f"{where} is open"
        body = op.get("requestBody")
        if body:
            [(media, content)] = body["content"].items()
            schema = content["schema"]
            target = next((s for s in schema.get("anyOf", []) if "$ref" in s), schema)
            resolved = spec["components"]["schemas"][target["$ref"].split("/")[-1]] if "$ref" in target else target
            examples = resolved.get("examples") or content.get("examples") or []
            assert examples, f"{where} has no example body"
            for example in examples:
                jsonschema.validate(example, {**resolved, **validator})
            checked += 1
    assert checked, f"{service} has no request body at all"
    assert "HTTPValidationError" not in json.dumps(spec)


def test_the_contact_operations_describe_the_channel_rules(stack):
    spec = spec_of(stack, "intake")
    for path in ("/v1/contacts", "/v1/contacts/batch"):
        text = spec["paths"][path]["post"]["description"]
        assert "| `exhibition` | `campaign` |" in text and "`referrer_customer_id`, `referrer_phone`" in text


async def test_the_request_id_is_echoed_logged_and_carried_into_the_events(stack, api):
    sent = str(uuid.uuid4())
    log = stack.root / "logs" / "intake.log"
    start = log.stat().st_size
    phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
    r = await api.post("intake", "/v1/contacts", {"channel": "walk_in", "phone": phone},
                       headers={"X-Request-ID": sent})
    assert r.status_code == 201 and r.headers["x-request-id"] == sent, r.text
    conn = await api.db("intake")
    try:
        envelope = await conn.fetchval("select envelope::text from event_store where event_id = "
                                       "(select max(event_id::text)::uuid from event_store where customer_id = $1)",
                                       uuid.UUID(r.json()["customer_id"]))
    finally:
        await conn.close()
    assert json.loads(envelope)["correlation_id"] == sent
    # an error answer carries it too, and a made one when the client sent none
    bad = await api.post("intake", "/v1/contacts", {"channel": "pigeon", "phone": phone},
                         headers={"X-Request-ID": "integrator-42"})
    assert problem(bad)["request_id"] == "integrator-42" and problem_fields(bad) == ["channel"]
    made = await api.client.get(api.url("intake", "/v1/nowhere"))
    assert made.status_code == 404 and re.fullmatch(r"[0-9a-f]{32}", problem(made)["request_id"])
    await asyncio.sleep(0.3)  # the access line is written as the answer goes out
    lines = [line for line in log.read_bytes()[start:].decode().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line JSON
    access = {(p.get("request_id"), p.get("route"), p.get("status")) for p in parsed if p["event"] == "http_request"}
    assert {(sent, "/v1/contacts", 201), ("integrator-42", "/v1/contacts", 422)} <= access
    assert all(p["service"] == "intake" for p in parsed)
    assert phone not in "\n".join(lines) and phone[3:] not in "\n".join(lines)


def test_every_line_a_service_wrote_is_json(stack):
    for service in SERVICES:
        lines = (stack.root / "logs" / f"{service}.log").read_text(errors="replace").splitlines()
        bad = []
        for line in lines:
            try:
                assert isinstance(json.loads(line), dict)
            except (ValueError, AssertionError):
                bad.append(line)
        assert not bad, f"{service}: {len(bad)} of {len(lines)} lines are not JSON, e.g. {bad[:3]}"


async def test_metrics_count_requests_by_route_and_status_with_business_gauges(stack, api):
    await api.client.get(api.url("followup", f"/v1/tasks/{uuid.uuid4()}"), headers=api.headers())
    text = (await api.client.get(api.url("followup", "/metrics"))).text
    assert re.search(r'crm_http_requests_total\{method="GET",route="/v1/tasks/\{task_id\}",status="404"\} [1-9]', text)
    assert 'crm_http_request_seconds_bucket{le="0.005",method="GET",route="/v1/tasks/{task_id}",status="404"}' in text
    assert re.search(r'crm_followup_tasks\{status="open"\} \d', text)
    assert re.search(r'crm_followup_tasks\{status="overdue"\} \d', text)
    assert re.search(r"crm_relay_backlog \d", text)
    for service in SERVICES:  # no raw path ever becomes a label
        metrics = (await api.client.get(api.url(service, "/metrics"))).text
        assert not re.search(r'route="[^"]*[0-9a-f]{8}-[0-9a-f]{4}', metrics), service


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_load_without_the_internet(stack, page):
    for service in SERVICES:
        url = stack.services[service].url
        html = httpx.get(url + page, timeout=10).text
        assets = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html)
        assert any(a.endswith(".js") for a in assets), (service, html)
        for asset in assets:
            assert asset.startswith("/"), f"{service}{page} loads {asset} from elsewhere"
            assert httpx.get(url + asset, timeout=10).status_code == 200, (service, asset)


async def test_a_token_with_wrongly_typed_claims_is_a_401_in_every_service(stack, api):
    import jwt

    token = jwt.encode({"iss": "crm", "sub": "x", "role": ["manager"], "iat": 0, "exp": 4102444800},
                       api.secret, algorithm="HS256")
    paths = {"intake": "/v1/customers?phone=13800138000", "grading": "/v1/policy", "followup": "/v1/tasks",
             "analytics": "/v1/reports/funnel"}
    for service, path in paths.items():
        r = await api.client.get(api.url(service, path), headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and problem_fields(r) == ["header.Authorization"], (service, r.text)
