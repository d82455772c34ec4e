"""Deals make the 3-day call (once per Idempotency-Key); losses wait for a manager; reassignment moves work."""
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.events.enums import Role
from tests.support.problems import problem_fields

from .support import CONSULTANT, complete, events, new_prospect, pending, phone

SHANGHAI = ZoneInfo("Asia/Shanghai")


def deal(customer_id: str, **over) -> dict:
    return {"customer_id": customer_id, "items": [{"product": "Sedan X", "quantity": 1, "unit_price": "150000.00"}],
            "gross_profit": "12000.00", "deposit": "5000.00",
            "closed_on": datetime.now(SHANGHAI).date().isoformat(), "campaign": "spring-show", **over}


async def test_a_deal_produces_delivery_steps_and_the_3_day_call_once(api):
    customer_id = await new_prospect(api, timeframe="within_7_days")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await api.post("followup", "/v1/deals", deal(customer_id), role=Role.CONSULTANT,
                           consultant_id=CONSULTANT, headers=key)
    second = await api.post("followup", "/v1/deals", deal(customer_id), role=Role.CONSULTANT,
                            consultant_id=CONSULTANT, headers=key)
    assert first.status_code == second.status_code == 201, first.text
    assert first.json() == second.json()
    assert len(await events(api, customer_id, "deal-closed")) == 1

    calls = await pending(api, customer_id, "deal_3day_call")
    steps = await pending(api, customer_id, "delivery")
    assert len(calls) == 1 and len(steps) == 5
    handover = next(t for t in steps if t["step"] == "handover")
    assert datetime.fromisoformat(calls[0]["due_at"]) == datetime.fromisoformat(handover["due_at"]) + timedelta(days=3)
    assert calls[0]["owner_id"] == CONSULTANT and not calls[0]["marketing"]
    assert not await pending(api, customer_id, "first_contact")  # prospect work ended with the deal

    tomorrow = (datetime.now(SHANGHAI).date() + timedelta(days=1)).isoformat()
    bad = await api.post("followup", "/v1/deals", deal(customer_id, deposit="200000.00", closed_on=tomorrow))
    assert bad.status_code == 422
    assert set(problem_fields(bad)) == {"deposit", "closed_on"}
    bad = await api.post("followup", "/v1/deals", deal(customer_id, items=[]))
    assert bad.status_code == 422 and problem_fields(bad)[0] == "items"
    assert len(await events(api, customer_id, "deal-closed")) == 1  # nothing stored


async def test_a_loss_is_approved_by_a_manager_and_a_rejected_one_goes_back_to_follow_up(api):
    customer_id = await new_prospect(api)
    path = f"/v1/prospects/{customer_id}/lost"
    as_consultant = {"role": Role.CONSULTANT, "consultant_id": CONSULTANT}
    assert problem_fields(await api.post("followup", path, {"reason": "bored"}, **as_consultant))[0] == "reason"
    proposal = await api.post("followup", path, {"reason": "price", "note": "cheaper elsewhere"}, **as_consultant)
    assert proposal.status_code == 201, proposal.text
    assert (await api.post("followup", path, {"reason": "price"}, **as_consultant)).status_code == 409
    proposal_id = proposal.json()["proposal_id"]
    assert (await api.post("followup", f"/v1/losses/{proposal_id}/approve", {}, **as_consultant)).status_code == 403

    rejected = await api.post("followup", f"/v1/losses/{proposal_id}/reject", {"note": "call him once more"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert len(await pending(api, customer_id, "cadence")) == 1  # back to follow-up

    proposal = await api.post("followup", path, {"reason": "competitor"}, **as_consultant)
    proposal_id = proposal.json()["proposal_id"]
    approved = await api.post("followup", f"/v1/losses/{proposal_id}/approve", {})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert (await api.post("followup", f"/v1/losses/{proposal_id}/approve", {})).status_code == 409
    assert [e["reason"] for e in await events(api, customer_id, "prospect-lost")] == ["competitor"]
    prospect = (await api.get("followup", f"/v1/prospects/{customer_id}")).json()
    assert prospect["status"] == "lost"
    assert not [t for t in prospect["tasks"] if t["status"] in ("open", "overdue")]


async def test_reassignment_moves_open_work_and_keeps_the_history(api):
    customer_id = await new_prospect(api)
    first = (await pending(api, customer_id, "first_contact"))[0]
    assert (await complete(api, first["task_id"])).status_code == 200
    r = await api.post("followup", f"/v1/prospects/{customer_id}/reassign", {"consultant_id": "c-fu-2", "reason": "c-fu-1 is on leave"})
    assert r.status_code == 200, r.text
    assert r.json()["previous_owner_id"] == CONSULTANT
    assert {t["owner_id"] for t in await pending(api, customer_id)} == {"c-fu-2"}
    view = await api.get("followup", f"/v1/prospects/{customer_id}", role=Role.CONSULTANT, consultant_id="c-fu-2")
    done = [t for t in view.json()["tasks"] if t["status"] == "done"]
    assert done and done[0]["record"]["consultant_id"] == CONSULTANT  # the history moved with the customer
    assert (await api.post("followup", f"/v1/prospects/{customer_id}/reassign", {"consultant_id": "x", "reason": "mine now"},
                           role=Role.CONSULTANT, consultant_id=CONSULTANT)).status_code == 403


async def test_a_consultant_who_leaves_hands_the_open_work_to_the_team(api):
    leaving = f"c-leaving-{uuid.uuid4().hex[:6]}"
    await api.join_roster({leaving: None})
    r = await api.post("intake", "/v1/contacts", {"channel": "phone", "name": "Wu Gang", "phone": phone(),
                                                  "purchase_timeframe": "within_1_month", "consultant_id": leaving})
    customer_id = r.json()["customer_id"]
    await api.eventually("followup", f"/v1/tasks?customer_id={customer_id}", lambda v: v["tasks"])
    r = await api.post("followup", "/v1/consultants", {"consultant_id": leaving, "active": False})
    assert r.status_code == 200 and r.json()["handed_over_customers"] == [customer_id], r.text
    roster = (await api.get("followup", "/v1/consultants")).json()["consultants"]
    active = {c["consultant_id"] for c in roster if c["active"]}
    owners = {t["owner_id"] for t in await pending(api, customer_id)}
    assert owners and owners <= active and leaving not in owners
    assert (await api.get("followup", f"/v1/prospects/{customer_id}")).json()["owner_id"] in active
