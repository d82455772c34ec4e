"""Grading on the whole running stack: events in over Kafka, grades and history out over HTTP."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.events.enums import PurchaseTimeframe, Role
from shared.runtime import kafka
from tests.support.problems import problem_fields

from . import events as ev


@pytest.fixture
async def publish(stack):
    producer = kafka.producer(stack.broker.bootstrap)
    await producer.start()

    async def send(*envelopes):
        for env in envelopes:
            await producer.send_and_wait(env.event_type, env.to_json(), key=env.key)
        return envelopes[-1]

    yield send
    await kafka.stop_quietly(producer)


def graded(grade: str):
    return lambda view: view["grade"] == grade


async def test_a_prospect_goes_c_b_a_h_o_with_the_full_history_and_causes(api, publish):
    c, me = uuid.uuid4(), "c-042"
    path = f"/v1/prospects/{c}/grade"
    now = datetime.now(UTC)
    first = await publish(ev.contact(c, now, consultant_id=me, purchase_timeframe=PurchaseTimeframe.OVER_3_MONTHS))
    await api.eventually("grading", path, graded("C"))
    second = await publish(ev.follow_up(c, now + timedelta(seconds=1), consultant_id=me,
                                        purchase_timeframe=PurchaseTimeframe.ONE_TO_3_MONTHS))
    # the owner is follow-up's decision (the contact named c-042), learnt here from customer-assigned
    await api.eventually("grading", path, lambda v: v["grade"] == "B" and v["consultant_id"] == me,
                         role=Role.CONSULTANT)

    override = f"/v1/prospects/{c}/grade-override"
    body = {"grade": "A", "reason": "wife confirmed the budget by phone"}
    r = await api.post("grading", override, body, role=Role.CONSULTANT, consultant_id="c-999")
    assert r.status_code == 403, r.text  # not their prospect
    r = await api.post("grading", override, {"grade": "Z", "reason": "x"}, role=Role.CONSULTANT, consultant_id=me)
    assert r.status_code == 422 and problem_fields(r)[0] == "grade"
    r = await api.post("grading", override, {"grade": "A"}, role=Role.CONSULTANT, consultant_id=me)
    assert r.status_code == 422 and problem_fields(r)[0] == "reason"
    r = await api.post("grading", f"/v1/prospects/{uuid.uuid4()}/grade-override", body, role=Role.MANAGER)
    assert r.status_code == 404
    r = await api.post("grading", override, body, role=Role.CONSULTANT, consultant_id=me)
    assert r.status_code == 200, r.text
    assert r.json()["grade"] == "A" and r.json()["overridden_by"] == me
    after = datetime.fromisoformat(r.json()["decided_at"])  # new evidence comes after the override

    third = await publish(ev.follow_up(c, after + timedelta(seconds=1), consultant_id=me, test_drive=True))
    await api.eventually("grading", path, graded("H"))
    fourth = await publish(ev.follow_up(c, after + timedelta(seconds=2), consultant_id=me, deposit_amount=1500))
    view = await api.eventually("grading", path, graded("O"), role=Role.OPS)

    history = [(h["previous_grade"], h["grade"], h["rule"], h["cause_kind"], h["changed_by"])
               for h in view["history"]]
    assert history == [
        (None, "C", "timeframe", "contact_received", None),
        ("C", "B", "timeframe", "follow_up", None),
        ("B", "A", "override", "consultant_override", me),
        ("A", "H", "buying_signal", "follow_up", None),
        ("H", "O", "deposit", "follow_up", None),
    ]
    causes = [h["cause_event_id"] for h in view["history"]]
    assert [causes[i] for i in (0, 1, 3, 4)] == [str(e.event_id) for e in (first, second, third, fourth)]
    assert view["history"][2]["reason"] == body["reason"]
    assert {h["policy_version"] for h in view["history"]} == {view["policy_version"]}

    conn = await api.db("grading")
    try:
        emitted = await conn.fetch(
            "select envelope->'payload'->>'grade' as g from event_store "
            "where customer_id = $1 and event_type = 'prospect-graded' order by stream_version", c)
    finally:
        await conn.close()
    assert [e["g"] for e in emitted] == ["C", "B", "A", "H", "O"]  # one event per real change

    await publish(ev.deal(c, after + timedelta(seconds=3)))
    value = await api.eventually("grading", f"/v1/customers/{c}/value", lambda v: v["purchases"] == 1,
                                 role=Role.INTEGRATION)
    assert value["management_class"] == "one_off" and value["pyramid_tier"] in {"platinum", "gold", "iron"}
    r = await api.post("grading", override, body, role=Role.MANAGER)
    assert r.status_code == 409  # a customer now: grading closed


async def test_policy_is_served_with_its_version(api):
    policy = (await api.get("grading", "/v1/policy", role=Role.CONSULTANT)).json()
    assert policy["intent"]["deposit_threshold_for_order"] == "1000"
    assert policy["intent"]["missed_follow_ups_before_downgrade"] == 2
    same = await api.get("grading", f"/v1/policy/{policy['version']}")
    assert same.status_code == 200 and same.json() == policy
    assert (await api.get("grading", "/v1/policy/nope")).status_code == 404
    r = await api.get("grading", f"/v1/customers/{uuid.uuid4()}/value")
    assert r.status_code == 404 and problem_fields(r)[0] == "path.customer_id"
