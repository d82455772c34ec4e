"""The dashboard's session cookie over plain HTTP: what signs in, what the cookie opens (the dashboard's
own report and 360 reads, nothing else), what it does not (no cookie, a tampered one, another origin,
the /v1 API), and the pages' headers."""
from __future__ import annotations

import uuid

import pytest

from shared.auth import SESSION_COOKIE, mint_token
from shared.events.enums import Role
from shared.masking import mask_field
from tests.support.problems import problem_fields

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def signed_in(api, token: str, **headers: str):
    return await api.client.post(api.url("analytics", "/dashboard/sign-in"), content=f"token={token}",
                                 headers={**FORM, **headers})


def session(token: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


async def some_customer(api) -> str:
    r = await api.client.get(api.url("analytics", "/v1/reports/pareto?limit=1"), headers=api.headers())
    return r.json()["rows"][0]["customer_id"]


async def test_sign_in_sets_an_http_only_strict_session_cookie_and_sign_out_clears_it(api):
    r = await signed_in(api, api.token())
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={api.token()[:20]}")
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/dashboard"} <= attributes, cookie
    assert not any(a.startswith(("max-age", "expires")) for a in attributes), cookie  # a browser-session cookie
    assert "secure" not in attributes  # plain http here; Secure when the request came over https
    r = await api.client.post(api.url("analytics", "/dashboard/sign-out"))
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/sign-in?note=signed-out"
    assert r.headers["set-cookie"].startswith(f'{SESSION_COOKIE}=""') and "Max-Age=0" in r.headers["set-cookie"]


@pytest.mark.parametrize("token, status", [("not-a-token", 401), ("", 401),
                                          (mint_token("f" * 48, Role.MANAGER), 401)])
async def test_a_bad_token_signs_nobody_in(api, token, status):
    r = await signed_in(api, token)
    assert r.status_code == status and "set-cookie" not in r.headers
    assert "invalid" in r.text and (not token or token not in r.text)


async def test_a_role_that_may_not_read_reports_is_not_signed_in(api):
    r = await signed_in(api, api.token(Role.INTEGRATION))
    assert r.status_code == 403 and "set-cookie" not in r.headers


async def test_a_sign_in_posted_by_another_site_is_refused(api):
    r = await signed_in(api, api.token(), **{"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403 and "set-cookie" not in r.headers


async def test_the_cookie_opens_the_dashboard_reads_only(api, demo_data):
    reads = ["/dashboard/api/reports/funnel", f"/dashboard/api/customers/{await some_customer(api)}/360"]
    token = api.token()
    tampered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    for path in reads:
        url = api.url("analytics", path)
        assert (await api.client.get(url, headers=session(token))).status_code == 200, path
        for headers in ({}, session(tampered), session(mint_token(api.secret, Role.MANAGER, ttl_seconds=-60)),
                        {**session(token), "Sec-Fetch-Site": "same-site"},  # another origin of this site
                        {**session(token), "Sec-Fetch-Site": "cross-site"}):
            r = await api.client.get(url, headers=headers)
            assert r.status_code == 401 and problem_fields(r) == ["header.Authorization"], (path, list(headers), r.text)
    # the API itself takes the Authorization header only
    r = await api.client.get(api.url("analytics", "/v1/reports/funnel"), headers=session(token))
    assert r.status_code == 401


async def test_the_access_policy_still_decides_for_a_session(api, demo_data):
    consultant = api.token(Role.CONSULTANT, consultant_id="c-001")
    url = api.url("analytics", "/dashboard/api/reports/funnel?consultant=c-002")
    r = await api.client.get(url, headers=session(consultant))
    assert r.status_code == 403 and problem_fields(r) == ["query.consultant"], r.text


async def test_a_bad_filter_is_a_problem_naming_the_field(api, demo_data):
    url = api.url("analytics", "/dashboard/api/reports/funnel?from=2026-07-31&to=2026-03-01")
    r = await api.client.get(url, headers=session(api.token()))
    assert r.status_code == 422 and problem_fields(r) == ["query.from"], r.text


async def test_report_rows_name_customers_masked_for_who_may_not_see_them(api, demo_data):
    rows, readers = {}, {Role.MANAGER: f"manager-{uuid.uuid4().hex[:8]}", Role.OPS: f"ops-{uuid.uuid4().hex[:8]}"}
    for role in (Role.MANAGER, Role.OPS):
        token = mint_token(api.secret, role, subject=readers[role])
        r = await api.client.get(api.url("analytics", "/v1/reports/pareto?limit=10"),
                                 headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        rows[role] = {row["customer_id"]: row["customer_name"] for row in r.json()["rows"]}
    assert rows[Role.MANAGER].keys() == rows[Role.OPS].keys()
    named = {c: n for c, n in rows[Role.MANAGER].items() if n}
    assert named, rows[Role.MANAGER]
    for customer_id, name in rows[Role.MANAGER].items():
        masked = rows[Role.OPS][customer_id]
        if not name:  # a customer who gave no name (other tests' customers on the shared stack): nothing to mask
            assert masked is None
            continue
        assert masked == mask_field("name", name), (name, masked)  # the one masking
    # every name the manager saw unmasked is one audited read; the masked names are none
    conn = await api.db("analytics")
    try:
        reads = await conn.fetch(
            "select customer_id::text, envelope->'payload'->>'subject' from event_store "
            "where event_type = 'personal-data-read' and envelope->'payload'->>'subject' = any($1) "
            "and envelope->'payload'->>'what' = 'report pareto: name'", list(readers.values()))
    finally:
        await conn.close()
    assert sorted(c for c, _ in reads) == sorted(named) and {s for _, s in reads} == {readers[Role.MANAGER]}


async def test_pages_carry_the_security_headers_and_refuse_a_token_in_the_link(api):
    token = api.token()
    for path in ("/dashboard", f"/dashboard/customers/{uuid.uuid4()}"):
        r = await api.client.get(api.url("analytics", f"{path}?token={token}"))
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/sign-in?note=token-in-link"
        assert "set-cookie" not in r.headers
        r = await api.client.get(api.url("analytics", path))
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/sign-in?note=expired"
        r = await api.client.get(api.url("analytics", path), headers=session(token))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "no-referrer" and r.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in r.text  # no inline script: the CSP allows none
    r = await api.client.get(api.url("analytics", "/dashboard/sign-in?note=<script>"))
    assert r.status_code == 200 and "<script>" not in r.text and "script-src 'self'" in r.headers["content-security-policy"]
    labels = (await api.client.get(api.url("analytics", "/dashboard/labels.json"))).json()
    assert labels["loyalty_stage"]["follower"] == {"zh": "跟随者", "en": "Follower"}
