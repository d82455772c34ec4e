"""Property (hypothesis) against the database: any arrival order of the same events gives the
same stored grade, history and value, and emits only real changes. The events include deals with
a due date, payments against them and card updates (annual revenue, market share)."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events.enums import FollowUpOutcome, PurchaseTimeframe
from tests.support.fixtures import fresh_database

from . import events as ev
from .test_handlers import Grading

days = st.integers(0, 6)
timeframes = st.none() | st.sampled_from(list(PurchaseTimeframe))
contacts = st.builds(lambda d, tf: lambda c: ev.contact(c, ev.at(d), purchase_timeframe=tf), days, timeframes)
follow_ups = st.builds(
    lambda d, o, td, dep, tf: lambda c: ev.follow_up(c, ev.at(d), outcome=o, test_drive=td, deposit_amount=dep,
                                                     purchase_timeframe=tf),
    days, st.sampled_from(list(FollowUpOutcome)), st.booleans(), st.none() | st.sampled_from([500, 1000]), timeframes)
others = st.sampled_from([
    lambda c: ev.deal(c, ev.at(3)), lambda c: ev.complaint(c, ev.at(2)), lambda c: ev.lost(c, ev.at(4)),
    lambda c: ev.deal(c, ev.at(1), deal_id=uuid.uuid5(c, "deal"), deposit="20000", payment_due_on=date(2026, 3, 6)),
])
payments = st.builds(
    lambda d, amount: lambda c: ev.payment(c, ev.at(d), uuid.uuid5(c, "deal"), amount=amount),
    st.integers(1, 12), st.sampled_from(["50000", "90000", "180000"]))


def _card(day: int, revenue: str | None, share: str | None):
    """A card update; "-": the field did not change (a name change when neither did)."""
    fields = {k: v for k, v in (("annual_revenue", revenue), ("market_share_pct", share)) if v != "-"}
    return lambda c: ev.card(c, ev.at(day), **(fields or {"name": "Li Lei"}))


cards = st.builds(
    _card, days, st.sampled_from(["-", None, "40000", "6000000"]), st.sampled_from(["-", None, "25", "85"]))
journeys = st.lists(contacts | follow_ups | others | payments | cards, min_size=1, max_size=7)


@pytest.fixture(scope="module")
async def two_databases(postgres):
    pools = [(await fresh_database(postgres, "grading"))[1] for _ in range(2)]
    yield [Grading(p) for p in pools]
    for p in pools:
        await p.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(journey=journeys, data=st.data())
async def test_any_arrival_order_stores_the_same_state(two_databases, journey, data):
    in_order, shuffled = two_databases
    c = uuid.uuid4()
    envelopes = sorted((make(c) for make in journey), key=lambda e: (e.occurred_at, e.event_id))
    await in_order.apply(*envelopes)
    await shuffled.apply(*data.draw(st.permutations(envelopes)))
    assert await shuffled.snapshot(c) == await in_order.snapshot(c)
    for grading in two_databases:  # every reader of the events ends with the stored history
        emitted = await grading.emitted(c)
        snap = await grading.snapshot(c)
        if emitted:
            assert [(h["previous_grade"], h["grade"], h["status"], h["rule"]) for h in emitted[-1]["history"]] == [
                (h["previous_grade"], h["grade"], h["status"], h["rule"]) for h in snap["history"]]
            revisions = [e["revision"] for e in emitted]
            assert revisions == sorted(set(revisions)), revisions  # each publication a later revision
        if emitted and snap["prospect"] and snap["prospect"]["grade"]:
            assert emitted[-1]["grade"] == snap["prospect"]["grade"]
