"""Schemathesis against the OpenAPI of all four running services: whatever it
generates, no 500 and no response outside the documented schema."""
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from shared.events.enums import Role

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
FUZZ = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def operations(url: str):
    raw = httpx.get(f"{url}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw)
    for result in schema.get_all_operations():
        yield result.ok()


@pytest.mark.parametrize("service", ["intake", "grading", "followup", "analytics"])
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
