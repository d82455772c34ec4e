"""Every /v1 endpoint of every service refuses callers without a valid token."""
import re
import uuid

import httpx
import pytest

from shared.auth import mint_token
from shared.events.enums import Role


def operations(url: str):
    spec = httpx.get(f"{url}/openapi.json", timeout=10).json()
    for path, methods in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method in methods:
            yield method.upper(), re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


@pytest.mark.parametrize("service", ["intake", "grading", "followup", "analytics"])
async def test_every_endpoint_needs_a_valid_token(api, stack, service, reliability):
    url = stack.services[service].url
    forged = mint_token("f" * 48, Role.MANAGER)
    expired = mint_token(api.secret, Role.MANAGER, ttl_seconds=-60)
    checked = 0
    for method, path in operations(url):
        for headers in ({}, {"Authorization": f"Bearer {forged}"}, {"Authorization": f"Bearer {expired}"},
                        {"Authorization": "Basic dXNlcjpwYXNz"}):
            r = await api.client.request(method, f"{url}{path}", headers=headers, json={})
            assert r.status_code == 401, f"{method} {path} with {list(headers)} -> {r.status_code}"
        checked += 1
    assert checked > 0
    reliability.record(f"no, forged, expired or non-bearer token on every {service} /v1 endpoint", checked * 4,
                       "401 every time")
