"""`crm demo` on the running stack: every call answered below 400, a re-run creates nothing,
`--json` is JSON only, and the history lies over the period rather than on one day: follow-ups
done on their own days, mostly on time."""
from __future__ import annotations

import asyncio
import json
from collections import Counter

from typer.testing import CliRunner

from crm.cli import app

SEED, CUSTOMERS, DAYS = 9090, 25, 60
DEMO_CONSULTANTS = {"c-001", "c-002", "c-003", "c-004", "c-005"}
COUNTS = {"intake": ("contacts", "customers", "complaints", "consent_decisions"),
          "followup": ("tasks", "deals", "payments", "loss_proposals", "complaint_cases")}


def _run(api, *extra: str):
    env = {f"CRM_{name.upper()}_URL": svc.url for name, svc in api.stack.services.items()}
    return CliRunner().invoke(app, ["demo", "--customers", str(CUSTOMERS), "--days", str(DAYS), "--seed", str(SEED),
                                    "--root", str(api.stack.root), "--json", *extra], env=env)


async def _counts(api) -> dict[str, int]:
    out = {}
    for service, tables in COUNTS.items():
        conn = await api.db(service)
        try:
            for table in tables:
                out[f"{service}.{table}"] = await conn.fetchval(f"select count(*) from {table}")
        finally:
            await conn.close()
    return out


async def _settled(api) -> dict[str, int]:
    """The counts once the consumers have caught up (the same twice, a second apart)."""
    last = await _counts(api)
    for _ in range(30):
        await asyncio.sleep(1.0)
        now = await _counts(api)
        if now == last:
            return now
        last = now
    return last


async def test_demo_is_clean_json_without_errors_and_a_rerun_creates_nothing(api):
    first = await asyncio.to_thread(_run, api)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)  # nothing but the JSON on stdout; the progress bar is on stderr
    assert "generating" in first.stderr
    assert summary["http_errors"] == {}, summary
    assert summary["customers"] == CUSTOMERS
    steps = summary["steps"]
    assert steps["contact"]["ok"] == CUSTOMERS and not any(s["failed"] or s["unavailable"] for s in steps.values())
    assert steps["deals (history)"]["ok"] and steps["complete task"]["ok"]
    before = await _settled(api)

    again = await asyncio.to_thread(_run, api)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["http_errors"] == {}
    assert await _settled(api) == before

    # the history lies over the period: contacts, prospects, deals and follow-ups due on many days
    period = json.loads(first.stdout)["period"]
    r = await api.get("analytics", "/v1/reports/daily", params={"from": period["from"], "to": period["until"],
                                                                "limit": 5000})
    assert r.status_code == 200, r.text
    active_days = Counter(row["date"] for row in r.json()["rows"]
                          if row["walk_ins"] + row["calls"] + row["deliveries"] + row["followups_due"])
    assert len(active_days) > DAYS // 3, active_days
    assert sum(row["deliveries"] for row in r.json()["rows"]) >= 1


    # the follow-ups were done on their own days over the period, most of them on time
    done_days = Counter(row["date"] for row in r.json()["rows"] if row["followups_done"])
    assert len(done_days) > DAYS // 6, done_days
    assert max(done_days.values()) < sum(done_days.values()) / 3, done_days  # no one-day spike
    workload = await _workload(api, period, at_least=steps["complete task"]["ok"])
    done = sum(row["done"] for row in workload)
    on_time = sum(row["done_on_time"] for row in workload)
    assert done >= steps["complete task"]["ok"] and on_time / done > 0.5, workload
    assert on_time < done, workload  # and some late


async def _workload(api, period: dict, at_least: int) -> list[dict]:
    """The demo consultants' workload rows once analytics has seen `at_least` follow-ups done."""
    rows: list[dict] = []
    for _ in range(30):
        r = await api.get("analytics", "/v1/reports/workload", params={"from": period["from"], "to": period["until"]})
        assert r.status_code == 200, r.text
        rows = [row for row in r.json()["rows"] if row["consultant_id"] in DEMO_CONSULTANTS]
        if sum(row["done"] for row in rows) >= at_least:
            break
        await asyncio.sleep(1.0)
    return rows
