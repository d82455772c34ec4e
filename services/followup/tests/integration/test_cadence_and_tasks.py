"""A prospect through grades: the cadence moves with them; completing twice changes nothing."""
from datetime import datetime, timedelta

from shared.events.contract import ProspectGraded
from shared.events.enums import IntentGrade, Role
from tests.support.problems import problem_fields

from .support import CONSULTANT, complete, events, new_prospect, pending, phone, publish, until

CADENCE_DAYS = {"H": 2, "A": 7, "B": 15, "C": 30}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_cadence_follows_the_grade(api, stack):
    customer_id = await new_prospect(api)
    first = (await pending(api, customer_id, "first_contact"))[0]
    assert first["owner_id"] == CONSULTANT and not first["marketing"]  # a walk-in asked to be contacted
    assert not await pending(api, customer_id, "cadence")  # the first contact is the next follow-up

    # a consultant sees only their own list; another consultant may not complete it
    mine = (await api.get("followup", "/v1/tasks", role=Role.CONSULTANT, consultant_id=CONSULTANT)).json()
    assert {t["owner_id"] for t in mine["tasks"]} == {CONSULTANT}
    assert (await complete(api, first["task_id"], consultant="c-someone-else")).status_code == 403

    # no buying signal in the record, so grading has no reason to regrade behind the test's back
    done = await complete(api, first["task_id"], content="came with his wife, will think it over")
    assert done.status_code == 200 and done.json()["changed"], done.text
    again = await complete(api, first["task_id"], outcome="no_answer")
    assert again.status_code == 200 and again.json()["changed"] is False
    assert len([e for e in await events(api, customer_id, "followup-logged")
                if e["task_id"] == first["task_id"]]) == 1
    bad = await complete(api, first["task_id"], method="pigeon")
    assert bad.status_code == 422 and problem_fields(bad)[0] == "method"

    prospect = (await api.get("followup", f"/v1/prospects/{customer_id}")).json()
    contacted = at(prospect["last_contact_at"])
    cadence = await until(lambda: pending(api, customer_id, "cadence"))
    assert len(cadence) == 1
    assert at(cadence[0]["due_at"]) == contacted + timedelta(days=CADENCE_DAYS[prospect["grade"]])

    previous = IntentGrade(prospect["grade"])
    for grade in (IntentGrade.H, IntentGrade.A, IntentGrade.C):
        await publish(stack, ProspectGraded(grade=grade, previous_grade=previous, rule="override",
                                            policy_version="test", consultant_id=CONSULTANT), customer_id)
        expected = contacted + timedelta(days=CADENCE_DAYS[grade.value])

        async def moved(expected=expected):
            tasks = await pending(api, customer_id, "cadence")
            return tasks if tasks and at(tasks[0]["due_at"]) == expected else None

        tasks = await until(moved)
        assert tasks and len(tasks) == 1 and tasks[0]["grade"] == grade.value, (
            grade, expected, await pending(api, customer_id), await events(api, customer_id, "task-scheduled"))
        previous = grade

    # O: the delivery steps replace the cadence
    await publish(stack, ProspectGraded(grade=IntentGrade.O, previous_grade=previous, rule="deposit",
                                        policy_version="test"), customer_id)
    steps = await until(lambda: pending(api, customer_id, "delivery"))
    assert [t["step"] for t in steps] == ["payment", "registration", "insurance", "accessories", "handover"]
    assert not await pending(api, customer_id, "cadence")


async def test_a_service_visit_gets_the_after_sales_3_day_call(api):
    visit = {"channel": "service_station", "service_station": "Pudong", "name": "Qian Jun", "phone": phone(),
             "consultant_id": CONSULTANT}
    r = await api.post("intake", "/v1/contacts", visit)
    assert r.status_code == 201, r.text
    customer_id = r.json()["customer_id"]
    tasks = await api.eventually("followup", f"/v1/tasks?customer_id={customer_id}", lambda v: v["tasks"])
    kinds = {(t["kind"], t["marketing"]) for t in tasks["tasks"]}
    assert ("service_3day_call", False) in kinds and "first_contact" not in {k for k, _ in kinds}
