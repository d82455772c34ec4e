"""Intake serves the event contract's AsyncAPI document, openly, as committed in docs/events."""
from __future__ import annotations

import json
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "events" / "asyncapi.json"


async def test_intake_serves_the_asyncapi_document(api):
    r = await api.client.get(api.url("intake", "/asyncapi.json"))  # no token: like /openapi.json
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == json.loads(DOC.read_text())
    assert "contact-received" in r.json()["channels"] and "callcenter-contacts" in r.json()["channels"]
