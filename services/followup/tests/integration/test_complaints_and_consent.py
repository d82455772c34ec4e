"""Complaints through their steps and past their deadlines; refused consent stops marketing work only."""
import asyncio
import uuid
from datetime import UTC, datetime

from shared.events.contract import ComplaintFiled, ConsentChanged, CustomerValued, ProspectGraded
from shared.events.enums import IntentGrade, Role
from tests.support.problems import problem_fields

from .support import complete, events, new_prospect, pending, publish, until

DAY = 24 * 3600


async def file_complaint(api, stack, severity: str, customer_id: str | None = None) -> tuple[str, dict]:
    customer_id = customer_id or str(uuid.uuid4())
    complaint_id = uuid.uuid4()
    await publish(stack, ComplaintFiled(complaint_id=complaint_id, channel="phone", severity=severity,
                                        description="my repair request waited a month"), customer_id)
    case = await api.eventually("followup", f"/v1/complaints/{complaint_id}", lambda c: c["status"] == "filed")
    return customer_id, case


async def test_complaint_is_acknowledged_resolved_and_surveyed(api, stack):
    customer_id, case = await file_complaint(api, stack, "high")
    path = f"/v1/complaints/{case['complaint_id']}"
    assert datetime.fromisoformat(case["acknowledge_due"]) <= datetime.fromisoformat(case["resolve_due"])
    assert (await api.post("followup", f"{path}/survey", {"satisfaction": 5})).status_code == 409
    ack = await api.post("followup", f"{path}/acknowledge", {}, role=Role.INTEGRATION)
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    again = await api.post("followup", f"{path}/acknowledge", {})
    assert again.status_code == 200 and again.json()["changed"] is False
    bad = await api.post("followup", f"{path}/resolve", {"root_cause": "bad luck", "remedy": "x"})
    assert bad.status_code == 422 and problem_fields(bad)[0] == "root_cause"
    resolved = await api.post("followup", f"{path}/resolve",
                              {"root_cause": "procedure_gap", "remedy": "free maintenance and an apology"})
    assert resolved.status_code == 200 and resolved.json()["root_cause"] == "procedure_gap"
    survey_tasks = await pending(api, customer_id, "complaint_survey")
    assert len(survey_tasks) == 1
    surveyed = await api.post("followup", f"{path}/survey", {"satisfaction": 4, "comment": "fair"})
    assert surveyed.status_code == 200 and surveyed.json()["satisfaction"] == 4
    assert not await pending(api, customer_id, "complaint_survey")
    steps = [e["status"] for e in await events(api, customer_id, "complaint-updated")]
    assert steps == ["opened", "acknowledged", "resolved", "surveyed"]


async def test_refused_consent_cancels_marketing_work_and_keeps_service_work(api, stack):
    customer_id = await new_prospect(api)
    first = (await pending(api, customer_id, "first_contact"))[0]
    assert (await complete(api, first["task_id"])).status_code == 200
    await until(lambda: pending(api, customer_id, "cadence"))
    await publish(stack, CustomerValued(in_decline=True, policy_version="test"), customer_id)
    assert await until(lambda: pending(api, customer_id, "decline_recovery"))
    _, case = await file_complaint(api, stack, "medium", customer_id)

    await publish(stack, ConsentChanged(marketing_allowed=False, source="phone call"), customer_id)

    async def marketing_gone():
        return not [t for t in await pending(api, customer_id) if t["marketing"]]

    assert await until(marketing_gone)
    cancelled = (await api.get("followup", f"/v1/tasks?customer_id={customer_id}&status=cancelled")).json()["tasks"]
    assert {t["kind"] for t in cancelled} == {"cadence", "decline_recovery"}
    assert {t["cancel_reason"] for t in cancelled} == {"marketing consent refused"}
    # complaint work continues; a new grade creates no marketing work
    ack = await api.post("followup", f"/v1/complaints/{case['complaint_id']}/acknowledge", {})
    assert ack.status_code == 200 and ack.json()["changed"]
    await publish(stack, ProspectGraded(grade=IntentGrade.H, rule="override", policy_version="test"), customer_id)
    await api.eventually("followup", f"/v1/prospects/{customer_id}", lambda p: p["grade"] == "H")
    assert not await pending(api, customer_id, "cadence")


async def test_late_work_is_marked_overdue_and_escalated_once(api, stack, clock):
    customer_id = await new_prospect(api)
    r = await api.post("followup", "/v1/deals", {
        "customer_id": customer_id, "items": [{"product": "SUV", "quantity": 1, "unit_price": "200000"}],
        "gross_profit": "9000", "closed_on": datetime.now(UTC).date().isoformat(),
        "delivered_at": datetime.now(UTC).isoformat()})
    assert r.status_code == 201, r.text
    call_id = r.json()["deal_call_task_id"]
    _, case = await file_complaint(api, stack, "low")
    acknowledge_in = (datetime.fromisoformat(case["acknowledge_due"]) - datetime.now(UTC)).total_seconds()
    clock(max(acknowledge_in, 4.5 * DAY) + 600)  # the 3-day call is over a day late, acknowledgement too

    complaint = await api.eventually("followup", f"/v1/complaints/{case['complaint_id']}",
                                     lambda c: c["acknowledge_escalated_at"], timeout=60)
    assert complaint["breached"] == ["acknowledge"]
    call = await api.eventually("followup", f"/v1/tasks/{call_id}",
                                lambda t: t["status"] == "overdue" and t["escalated_at"], timeout=60)
    assert call["late"]
    await asyncio.sleep(5)  # more runs of the periodic check find nothing left to do
    updates = await events(api, case["customer_id"], "complaint-updated")
    assert [(u["status"], u["breached"]) for u in updates] == [("opened", None), ("escalated", "acknowledge")]
    assert len([e for e in await events(api, customer_id, "task-escalated") if e["task_id"] == call_id]) == 1
    assert len([e for e in await events(api, customer_id, "task-closed") if e["task_id"] == call_id]) == 1
    escalated = (await api.get("followup", f"/v1/complaints?escalated=true&customer_id={case['customer_id']}"))\
        .json()["complaints"]
    assert case["complaint_id"] in {c["complaint_id"] for c in escalated}
    # the late call can still be done
    done = await complete(api, call_id)
    assert done.status_code == 200 and done.json()["task"]["status"] == "done"
