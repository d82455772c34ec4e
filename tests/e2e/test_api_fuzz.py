"""Generated input against every operation of all four running services: whatever comes,
no 5xx, and no answer outside what the OpenAPI documents (status, content type, schema).

- schemathesis generates requests from each service's OpenAPI;
- the hostile matrix puts the values that used to make 500s (NaN, Infinity, 1e400, lone
  surrogates, year 1 and 9999 with offsets, deep nesting, huge numbers) into every field of
  every operation's example body, every query parameter and every path parameter;
- hypothesis puts generated JSON (non-finite floats and surrogates allowed) into every field
  of every example body.
Each answer is counted; the test fails listing every 5xx (with its request id for the log)."""
import asyncio
import json
import uuid
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.events.enums import Role

SERVICES = ["intake", "grading", "followup", "analytics"]
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
FUZZ = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def operations(url: str):
    raw = httpx.get(f"{url}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw)
    for result in schema.get_all_operations():
        yield result.ok()


@pytest.mark.parametrize("service", SERVICES)
def test_no_generated_request_breaks_the_api(stack, api, service, reliability):
    url = stack.services[service].url
    headers = {"Authorization": f"Bearer {api.token(Role.MANAGER, consultant_id='c-fuzz')}"}
    tried, sent = [], [0]
    for operation in operations(url):
        tried.append(f"{operation.method.upper()} {operation.path}")

        @given(case=operation.as_strategy())
        @FUZZ
        def call(case):
            sent[0] += 1
            case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=30)

        call()
    assert tried, f"{service} documents no operation"
    reliability.record(f"schemathesis-generated requests to {service} ({len(tried)} operations)", sent[0],
                       "no 500, responses match the documented schema and content type")


# ------------------------------------------------------------------ hostile values everywhere

HOSTILE_JSON = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400, "-0.0", "1e-400",
                '"\\ud800"', '"x\\udfff y"', '"0001-01-01T00:00:00+14:00"', '"9999-12-31T23:59:59-12:00"',
                '"0001-01-01"', '"9999-12-31"', '"0000-00-00"', '"2026-02-30"', "null", "true", "[]", "{}",
                '""', '" "', '"\\u0000"', '"' + "x" * 5000 + '"', "[" * 3000 + "]" * 3000, '{"a": NaN}']
HOSTILE_TEXT = ["0001-01-01", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00", "NaN", "Infinity",
                "1e400", "-1", "99999999999999999999999", "", " ", "x" * 3000, "%ED%A0%80", "%00", "..", "\u202e"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(exclude_categories=()), max_size=30),  # lone surrogates too
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
PLACEHOLDER = "__HOSTILE__"


def _resolve(spec: dict, schema: dict) -> dict:
    target = next((s for s in schema.get("anyOf", []) if "$ref" in s), schema)
    return spec["components"]["schemas"][target["$ref"].split("/")[-1]] if "$ref" in target else target


def _requests(spec: dict):
    """(method, path template, path params, query params, example body or None) per operation."""
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or "operations" in op.get("tags", []):
                continue
            params = op.get("parameters", [])
            body = op.get("requestBody")
            example = None
            if body:
                schema = _resolve(spec, next(iter(body["content"].values()))["schema"])
                example = (schema.get("examples") or [{}])[0]
            yield (method.upper(), path, [p["name"] for p in params if p["in"] == "path"],
                   [p["name"] for p in params if p["in"] == "query"], example)


def _with(example: dict, field: str, literal: str) -> bytes:
    """The example body with `field` set to a raw JSON literal (NaN and friends are not JSON)."""
    return json.dumps({**example, field: PLACEHOLDER}, ensure_ascii=True).replace(f'"{PLACEHOLDER}"', literal).encode()


def _url(path: str, path_params: list[str], value: str | None = None) -> str:
    for name in path_params:
        path = path.replace("{" + name + "}", quote(value, safe="%") if value is not None else str(uuid.uuid4()), 1)
    return path


async def _send_all(url: str, headers: dict, calls: list[tuple[str, str, dict]]) -> tuple[int, list[str]]:
    """Send every (method, path, request kwargs), 8 at a time; the 5xx answers, described."""
    gate, broken = asyncio.Semaphore(8), []
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        async def one(method, path, kwargs):
            async with gate:
                r = await client.request(method, path, **kwargs)
            if r.status_code >= 500:
                sent = kwargs.get("content", b"")[:160] or kwargs.get("params")
                broken.append(f"{method} {path} {sent!r} -> {r.status_code} (request {r.headers.get('x-request-id')})")
        await asyncio.gather(*(one(*call) for call in calls))
    return len(calls), broken


def _hostile_calls(spec: dict) -> list[tuple[str, str, dict]]:
    calls = []
    json_headers = {"Content-Type": "application/json"}
    for method, path, path_params, query, example in _requests(spec):
        plain = _url(path, path_params)
        if example is not None:
            for field in list(example) or ["x"]:
                calls += [(method, plain, {"content": _with(example, field, literal), "headers": json_headers})
                          for literal in HOSTILE_JSON]
            calls.append((method, plain, {"content": json.dumps(example).encode(), "headers": json_headers}))
        for name in query:
            calls += [(method, plain, {"params": {name: text}}) for text in HOSTILE_TEXT]
        if path_params:
            calls += [(method, _url(path, path_params, text), {}) for text in HOSTILE_TEXT if text.strip(" .")]
    return calls


@pytest.mark.parametrize("service", SERVICES)
async def test_hostile_values_in_every_field_parameter_and_path_make_no_5xx(stack, api, service, reliability):
    url = stack.services[service].url
    spec = httpx.get(f"{url}/openapi.json", timeout=10).json()
    headers = {"Authorization": f"Bearer {api.token(Role.MANAGER, consultant_id='c-fuzz')}"}
    sent, broken = await _send_all(url, headers, _hostile_calls(spec))
    assert sent > 50 and not broken, "\n".join(broken)
    reliability.record(f"hostile values (NaN, 1e400, surrogates, year 1/9999, ...) in every field, query and "
                       f"path parameter of {service}", sent, "no 5xx")


@pytest.mark.parametrize("service", SERVICES)
def test_generated_json_in_every_body_field_makes_no_5xx(stack, api, service, reliability):
    url = stack.services[service].url
    spec = httpx.get(f"{url}/openapi.json", timeout=10).json()
    headers = {"Authorization": f"Bearer {api.token(Role.MANAGER, consultant_id='c-fuzz')}",
               "Content-Type": "application/json"}
    targets = [(m, _url(p, pp), e) for m, p, pp, _, e in _requests(spec) if e]
    sent, broken = [0], []

    @given(data=st.data())
    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def call(data):
        method, path, example = data.draw(st.sampled_from(targets))
        field = data.draw(st.sampled_from(sorted(example)))
        value = json.dumps(data.draw(JSON_VALUES), ensure_ascii=True, allow_nan=True)
        r = httpx.request(method, url + path, content=_with(example, field, value), headers=headers, timeout=30)
        sent[0] += 1
        if r.status_code >= 500:
            broken.append(f"{method} {path} {field}={value[:80]} -> {r.status_code}")

    call()
    assert not broken, "\n".join(broken)
    assert sent[0] >= 30
    reliability.record(f"hypothesis-generated JSON in the body fields of {service}", sent[0], "no 5xx")
