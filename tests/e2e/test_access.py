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


SYS, CON, MGR, OPS = Role.INTEGRATION, Role.CONSULTANT, Role.MANAGER, Role.OPS
# Who may call what: the access matrix, written out by hand (not read from the code) so a
# change to a service's roles has to change this table too.
MATRIX: dict[tuple[str, str, str], set[Role]] = {
    ("intake", "POST", "/v1/contacts"): {SYS, CON, MGR},
    ("intake", "POST", "/v1/contacts/batch"): {SYS, CON, MGR},
    ("intake", "GET", "/v1/customers"): {SYS, CON, MGR, OPS},
    ("intake", "GET", "/v1/customers/{customer_id}"): {SYS, CON, MGR, OPS},
    ("intake", "PATCH", "/v1/customers/{customer_id}"): {CON, MGR},
    ("intake", "GET", "/v1/customers/{customer_id}/audit"): {MGR},
    ("intake", "GET", "/v1/merge-candidates"): {MGR},
    ("intake", "PUT", "/v1/customers/{customer_id}/consent"): {SYS, CON, MGR},
    ("intake", "POST", "/v1/customers/{customer_id}/merge"): {MGR},
    ("intake", "POST", "/v1/complaints"): {SYS, CON, MGR},
    ("intake", "POST", "/v1/customers/{customer_id}/erase"): {MGR, OPS},
    ("grading", "GET", "/v1/prospects/{customer_id}/grade"): {SYS, CON, MGR, OPS},
    ("grading", "POST", "/v1/prospects/{customer_id}/grade-override"): {CON, MGR},
    ("grading", "GET", "/v1/customers/{customer_id}/value"): {SYS, CON, MGR, OPS},
    ("grading", "GET", "/v1/policy"): {SYS, CON, MGR, OPS},
    ("grading", "GET", "/v1/policy/{version}"): {SYS, CON, MGR, OPS},
    ("followup", "GET", "/v1/tasks"): {CON, MGR, OPS},
    ("followup", "GET", "/v1/tasks/{task_id}"): {CON, MGR, OPS},
    ("followup", "POST", "/v1/tasks/{task_id}/complete"): {CON, MGR},
    ("followup", "POST", "/v1/deals"): {SYS, CON, MGR},
    ("followup", "POST", "/v1/deals/{deal_id}/payments"): {SYS, CON, MGR},
    ("followup", "POST", "/v1/deals/batch"): {SYS, CON, MGR},
    ("followup", "POST", "/v1/payments/batch"): {SYS, CON, MGR},
    ("followup", "POST", "/v1/prospects/{customer_id}/lost"): {CON, MGR},
    ("followup", "POST", "/v1/losses/{proposal_id}/approve"): {MGR},
    ("followup", "POST", "/v1/losses/{proposal_id}/reject"): {MGR},
    ("followup", "GET", "/v1/losses"): {CON, MGR, OPS},
    ("followup", "POST", "/v1/consultants"): {MGR},
    ("followup", "GET", "/v1/consultants"): {MGR, OPS},
    ("followup", "DELETE", "/v1/consultants/{consultant_id}"): {MGR},
    ("followup", "POST", "/v1/prospects/{customer_id}/reassign"): {MGR},
    ("followup", "PUT", "/v1/prospects/{customer_id}/care"): {CON, MGR},
    ("followup", "GET", "/v1/prospects/{customer_id}"): {CON, MGR, OPS},
    ("followup", "POST", "/v1/complaints/{complaint_id}/acknowledge"): {SYS, CON, MGR},
    ("followup", "POST", "/v1/complaints/{complaint_id}/resolve"): {SYS, CON, MGR},
    ("followup", "POST", "/v1/complaints/{complaint_id}/survey"): {SYS, CON, MGR},
    ("followup", "GET", "/v1/complaints"): {CON, MGR, OPS},
    ("followup", "GET", "/v1/complaints/{complaint_id}"): {CON, MGR, OPS},
    ("analytics", "GET", "/v1/customers/{customer_id}/360"): {SYS, CON, MGR, OPS},
    ("analytics", "POST", "/v1/admin/replay"): {MGR, OPS},
    ("analytics", "GET", "/v1/reports/{name}"): {CON, MGR, OPS},
    ("analytics", "POST", "/v1/campaigns/{campaign}/costs"): {MGR, OPS},
    ("analytics", "GET", "/v1/campaigns/{campaign}/costs"): {MGR, OPS},
}


NAMED = {"{name}": "funnel", "{campaign}": "matrix-campaign", "{version}": "1"}


def _concrete(path: str) -> str:
    for placeholder, value in NAMED.items():
        path = path.replace(placeholder, value)
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


@pytest.mark.parametrize("service", ["intake", "grading", "followup", "analytics"])
async def test_every_endpoint_answers_each_role_as_the_matrix_says(api, stack, service, reliability):
    """Each role on each /v1 endpoint: 403 naming the role exactly where the matrix forbids it,
    and never 401, a role refusal or a 500 where it allows it."""
    url = stack.services[service].url
    spec = httpx.get(f"{url}/openapi.json", timeout=10).json()
    expected = {(m, p): roles for (s, m, p), roles in MATRIX.items() if s == service}
    served = {(m.upper(), p) for p, ms in spec["paths"].items() if p.startswith("/v1/") for m in ms}
    assert served <= set(expected), f"endpoints missing from the access matrix: {served - set(expected)}"
    tried = 0
    for method, path in sorted(served):
        for role in Role:
            token = mint_token(api.secret, role, consultant_id="c-matrix" if role is Role.CONSULTANT else None)
            r = await api.client.request(method, f"{url}{_concrete(path)}", json={},
                                         headers={"Authorization": f"Bearer {token}"})
            refused = r.status_code == 403 and "may not do this" in r.text
            if role in expected[(method, path)]:
                assert r.status_code not in (401, 500) and not refused, f"{role} {method} {path} -> {r.status_code}"
            else:
                assert refused, f"{role} {method} {path} -> {r.status_code} {r.text[:200]}"
            tried += 1
    reliability.record(f"each role on every {service} /v1 endpoint against the access matrix", tried,
                       "403 naming the role where the matrix forbids, served where it allows, never 500")
