"""The consumers against real PostgreSQL: the same state whatever order the topics deliver in."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.events.contract import ContactReceived, CustomerMerged, CustomerUpdated, ProspectGraded
from shared.events.enums import Channel, IntentGrade
from shared.events.envelope import new_event
from shared.runtime.consumer import Inbound

from services.followup.domain import DEFAULT_POLICY
from services.followup.handlers import FollowUpHandlers
from services.followup.jobs import schedule_care

from .test_jobs import app_with

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)


def inbound(payload, customer_id: uuid.UUID, at: datetime = NOW) -> Inbound:
    event = new_event(payload, customer_id=customer_id, producer="test", occurred_at=at)
    return Inbound(event.event_id, customer_id, event, payload)


async def roster(pool, *consultants: str) -> None:
    """Active consultants on the roster (a consultant named on an event counts only if on it)."""
    await pool.executemany("insert into consultant_teams (consultant_id, team, active, changed_at) "
                           "values ($1, null, true, now())", [(c,) for c in consultants])


async def apply(pool, handlers: FollowUpHandlers, events: list[Inbound]) -> None:
    for e in events:
        async with pool.acquire() as conn, conn.transaction():
            await handlers.handlers()[e.envelope.event_type](conn, e)


async def state(pool, customer_id: uuid.UUID) -> tuple:
    tasks = await pool.fetch("select task_id, kind, owner_id, status, due_at, marketing from tasks "
                             "where customer_id = $1 order by task_id", customer_id)
    prospect = await pool.fetchrow("select owner_id, grade, status, contacted from prospects where customer_id = $1",
                                   customer_id)
    events = await pool.fetchval("select count(*) from event_store where customer_id = $1", customer_id)
    return [tuple(t) for t in tasks], tuple(prospect), events


@pytest.mark.parametrize(("channel", "work"), [
    (Channel.EXHIBITION, [("first_contact", "c-7", True)]),  # an exhibition lead: marketing
    (Channel.SERVICE_STATION, [("cadence", "c-7", True), ("service_3day_call", "c-7", False)]),
])
async def test_grade_before_contact_gives_the_same_work_as_contact_before_grade(service_db, channel, work):
    handlers = FollowUpHandlers(DEFAULT_POLICY, lambda: NOW + timedelta(seconds=5))
    customer_id = uuid.uuid4()
    contact = inbound(ContactReceived(contact_id=uuid.uuid4(), channel=channel, consultant_id="c-7"), customer_id)
    graded = inbound(ProspectGraded(grade=IntentGrade.A, rule="timeframe", policy_version="t", consultant_id="c-7"),
                     customer_id, NOW + timedelta(seconds=1))
    outcomes = []
    for order in ([contact, graded], [graded, contact], [contact, graded, graded, contact]):
        _, pool = await service_db("followup")
        await roster(pool, "c-7")
        await apply(pool, handlers, order)  # the third: each handler run twice (no inbox here)
        outcomes.append(await state(pool, customer_id))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    tasks, prospect, events = outcomes[0]
    assert sorted((t[1], t[2], t[5]) for t in tasks) == work
    assert prospect == ("c-7", "A", "active", True) and events == len(work) + 1  # + customer-assigned


async def test_a_contact_taken_over_from_history_makes_no_work_until_a_live_one(service_db):
    """Domain §8: a contact of an earlier system (`historical`) gives the customer an owner and a
    place in reports, no first contact and no cadence from its grade; a live contact starts the work."""
    handlers = FollowUpHandlers(DEFAULT_POLICY, lambda: NOW + timedelta(seconds=5))
    customer_id, old = uuid.uuid4(), NOW - timedelta(days=700)
    taken_over = inbound(ContactReceived(contact_id=uuid.uuid4(), channel=Channel.BULK_IMPORT, consultant_id="c-7",
                                         historical=True), customer_id, old)
    graded = inbound(ProspectGraded(grade=IntentGrade.A, rule="timeframe", policy_version="t", consultant_id="c-7"),
                     customer_id, NOW)
    for order in ([taken_over, graded], [graded, taken_over]):
        _, pool = await service_db("followup")
        await roster(pool, "c-7")
        await apply(pool, handlers, order)
        tasks, prospect, events = await state(pool, customer_id)
        assert tasks == [] and prospect == ("c-7", "A", "active", False) and events == 1  # customer-assigned
    live = inbound(ContactReceived(contact_id=uuid.uuid4(), channel=Channel.WALK_IN, consultant_id="c-7"),
                   customer_id, NOW + timedelta(seconds=1))
    await apply(pool, handlers, [live])
    tasks, prospect, _ = await state(pool, customer_id)
    assert [t[1] for t in tasks] == ["first_contact"] and prospect[3] is True


async def test_a_merge_moves_work_to_the_survivor_and_keeps_one_cadence(service_db):
    _, pool = await service_db("followup")
    await roster(pool, "c-1", "c-2")
    handlers = FollowUpHandlers(DEFAULT_POLICY, lambda: NOW)
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    for customer_id, consultant in ((survivor, "c-1"), (merged, "c-2")):
        await apply(pool, handlers, [
            inbound(ContactReceived(contact_id=uuid.uuid4(), channel=Channel.PHONE, consultant_id=consultant),
                    customer_id),
        ])
    await apply(pool, handlers, [inbound(CustomerMerged(merged_customer_id=merged), survivor)])
    owners = await pool.fetch("select customer_id, owner_id from tasks order by owner_id")
    # one customer, one owner: the merged record's pending work goes to the survivor's owner
    assert [(r["customer_id"], r["owner_id"]) for r in owners] == [(survivor, "c-1"), (survivor, "c-1")]
    assert await pool.fetchval("select owner_id from customer_owners where customer_id = $1", merged) == "c-1"
    # a late event about the merged id lands on the survivor
    await apply(pool, handlers, [inbound(ContactReceived(contact_id=uuid.uuid4(), channel=Channel.PHONE), merged)])
    assert await pool.fetchval("select count(*) from tasks where customer_id = $1", survivor) == 3
    assert await pool.fetchval("select count(*) from tasks where customer_id = $1", merged) == 0


async def test_the_card_birthday_brings_birthday_care(service_db):
    _, pool = await service_db("followup")
    await roster(pool, "c-3")
    handlers = FollowUpHandlers(DEFAULT_POLICY, lambda: NOW)
    customer_id = uuid.uuid4()
    await apply(pool, handlers, [
        inbound(ContactReceived(contact_id=uuid.uuid4(), channel=Channel.PHONE, consultant_id="c-3"), customer_id),
        inbound(CustomerUpdated(changed_fields=["birthday"], card={"birthday": "1985-03-12"}), customer_id),
    ])
    await schedule_care(app_with(pool, NOW))
    care = await pool.fetch("select owner_id, due_at from tasks where customer_id = $1 and kind = 'birthday_care'",
                            customer_id)
    assert [(r["owner_id"], r["due_at"].date().isoformat()) for r in care] == [("c-3", "2026-03-12")]
