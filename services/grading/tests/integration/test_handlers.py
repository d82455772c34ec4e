"""Grading's handlers against a real, migrated database (no broker, no HTTP).

Each test gets a fresh grading database (`service_db`) and applies envelopes
the way the consumer does: one transaction per message.
"""
from __future__ import annotations

import json
import random
import uuid
from datetime import date, timedelta

import pytest

from services.grading import grades
from services.grading.domain import DEFAULT_POLICY
from services.grading.handlers import GradingHandlers
from services.grading.values import Valuation
from shared.events.enums import FollowUpOutcome, PurchaseTimeframe

from . import events as ev

AS_OF = date(2026, 3, 20)


class Grading:
    """The service's handlers on one fresh database, with a fixed date."""

    def __init__(self, pool, today: date = AS_OF) -> None:
        self.pool, self.today = pool, today
        self.valuation = Valuation(DEFAULT_POLICY)
        self.handlers = GradingHandlers(DEFAULT_POLICY, self.valuation, lambda: self.today)

    async def apply(self, *envelopes) -> None:
        for env in envelopes:
            async with self.pool.acquire() as conn, conn.transaction():
                await self.handlers.handle(conn, ev.inbound(env))

    async def snapshot(self, customer_id: uuid.UUID) -> dict:
        async with self.pool.acquire() as conn:
            prospect = await conn.fetchrow("select * from prospects where customer_id = $1", customer_id)
            history = await conn.fetch("select * from grade_history where customer_id = $1 order by seq", customer_id)
            value = await conn.fetchval("select value::text from customer_values where customer_id = $1", customer_id)
        value = json.loads(value) if value else None
        if value:
            value.pop("cause_event_id")
        prospect = dict(prospect) if prospect else None
        if prospect:
            prospect.pop("revision")  # how many histories were published on the way: bookkeeping, not state
        return {"prospect": prospect, "history": [dict(h) for h in history], "value": value}

    async def emitted(self, customer_id: uuid.UUID, event_type: str = "prospect-graded") -> list[dict]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "select envelope::text as e from event_store where customer_id = $1 and event_type = $2 "
                "order by stream_version", customer_id, event_type)
        return [json.loads(r["e"])["payload"] for r in rows]


@pytest.fixture
async def grading(service_db):
    _, pool = await service_db("grading")
    return Grading(pool)


def journey(customer_id: uuid.UUID) -> list:
    """A prospect's events across five topics: C -> B -> H -> (missed twice) A -> O -> deal."""
    c = customer_id
    return [
        ev.contact(c, ev.at(0), purchase_timeframe=PurchaseTimeframe.OVER_3_MONTHS),
        ev.follow_up(c, ev.at(1), purchase_timeframe=PurchaseTimeframe.ONE_TO_3_MONTHS),
        ev.follow_up(c, ev.at(2), outcome=FollowUpOutcome.VISITED, test_drive=True),
        ev.follow_up(c, ev.at(3), outcome=FollowUpOutcome.NO_ANSWER),
        ev.follow_up(c, ev.at(4), outcome=FollowUpOutcome.NO_ANSWER),
        ev.complaint(c, ev.at(4.5)),
        ev.follow_up(c, ev.at(5), deposit_amount=2000),
        ev.deal(c, ev.at(6)),
    ]


async def test_a_journey_in_order_grades_and_emits_each_change_once(grading):
    c = uuid.uuid4()
    # the owner follow-up decided, as grading keeps it from customer-assigned
    await grading.pool.execute("insert into customer_owners (customer_id, owner_id, basis, assigned_at) "
                               "values ($1, 'c-001', 'named', now())", c)
    await grading.apply(*journey(c))
    snap = await grading.snapshot(c)
    rows = [(h["previous_grade"], h["grade"], h["rule"], h["cause_kind"]) for h in snap["history"]]
    assert rows == [
        (None, "C", "timeframe", "contact_received"),
        ("C", "B", "timeframe", "follow_up"),
        ("B", "H", "repeat_visit", "follow_up"),  # test drive raises to A, the 2nd visit to H
        ("H", "A", "missed_follow_ups", "follow_up"),
        ("A", "O", "deposit", "follow_up"),
        ("O", "O", "deal", "deal_closed"),  # status customer; no grade change
    ]
    assert snap["prospect"]["status"] == "customer" and snap["prospect"]["grade"] == "O"
    assert all(h["policy_version"] == DEFAULT_POLICY.version for h in snap["history"])
    emitted = await grading.emitted(c)
    assert [(e["previous_grade"], e["grade"]) for e in emitted] == [
        (None, "C"), ("C", "B"), ("B", "H"), ("H", "A"), ("A", "O"), ("O", "O")]  # the deal: a step, same grade
    assert [(h["previous_grade"], h["grade"]) for h in emitted[-1]["history"]] == [r[:2] for r in rows]
    assert all(e["consultant_id"] == "c-001" and e["policy_version"] for e in emitted)
    assert snap["value"]["purchases"] == 1 and snap["value"]["management_class"] == "one_off"


async def test_redelivery_and_events_that_change_nothing_emit_nothing(grading):
    c = uuid.uuid4()
    first = ev.contact(c, ev.at(0), purchase_timeframe=PurchaseTimeframe.WITHIN_1_MONTH)
    await grading.apply(first, first, ev.complaint(c, ev.at(1)), ev.follow_up(c, ev.at(2)))
    assert [e["grade"] for e in await grading.emitted(c)] == ["A"]
    assert len((await grading.snapshot(c))["history"]) == 1


@pytest.mark.parametrize("order", ["reversed", "shuffled", "deal_first"])
async def test_any_cross_topic_order_gives_the_same_grade_history_and_value(service_db, order):
    c = uuid.uuid4()
    events = journey(c)
    _, pool = await service_db("grading")
    reference = Grading(pool)
    await reference.apply(*events)
    _, pool2 = await service_db("grading")
    other = Grading(pool2)
    arrival = {"reversed": events[::-1], "shuffled": random.Random(7).sample(events, len(events)),
               "deal_first": [events[-1], *events[:-1]]}[order]
    await other.apply(*arrival)
    assert await other.snapshot(c) == await reference.snapshot(c)
    emitted = await other.emitted(c)
    assert emitted[-1]["grade"] == "O"
    # whatever the order, the last published history is the stored one (a late fact rewrote it)
    last = [(h["previous_grade"], h["grade"], h["rule"]) for h in emitted[-1]["history"]]
    assert last == [(h["previous_grade"], h["grade"], h["rule"]) for h in (await reference.snapshot(c))["history"]]
    assert [e["revision"] for e in emitted] == sorted({e["revision"] for e in emitted})


async def test_rebuilding_the_projection_from_the_facts_reproduces_it_exactly(grading):
    c = uuid.uuid4()
    await grading.apply(*journey(c))
    before = await grading.snapshot(c)
    async with grading.pool.acquire() as conn, conn.transaction():
        await conn.execute("delete from grade_history")
        await conn.execute("delete from prospects")
        await grades.regrade(conn, c, DEFAULT_POLICY)
    assert await grading.snapshot(c) == before


async def test_a_merge_moves_the_facts_to_the_survivor_whatever_the_order(grading):
    survivor, merged = uuid.uuid4(), uuid.uuid4()
    await grading.apply(
        ev.contact(survivor, ev.at(0), purchase_timeframe=PurchaseTimeframe.ONE_TO_3_MONTHS),
        ev.merge(survivor, merged, ev.at(3)),
        # the merged customer's own contact arrives after the merge (another topic)
        ev.contact(merged, ev.at(1), purchase_timeframe=PurchaseTimeframe.WITHIN_7_DAYS, consultant_id="c-002"),
        ev.follow_up(merged, ev.at(2), deposit_amount=1000),
    )
    snap = await grading.snapshot(survivor)
    assert snap["prospect"]["grade"] == "O" and snap["history"][-1]["rule"] == "deposit"
    assert (await grading.snapshot(merged))["prospect"] is None


async def test_a_loss_ends_grading_and_a_new_contact_reopens(grading):
    c = uuid.uuid4()
    await grading.apply(ev.contact(c, ev.at(0), purchase_timeframe=PurchaseTimeframe.WITHIN_1_MONTH),
                        ev.lost(c, ev.at(1)))
    snap = await grading.snapshot(c)
    assert snap["prospect"]["status"] == "lost" and snap["prospect"]["grade"] is None
    assert snap["history"][-1]["loss_reason"] == "competitor"
    await grading.apply(ev.contact(c, ev.at(9), purchase_timeframe=PurchaseTimeframe.WITHIN_7_DAYS))
    emitted = await grading.emitted(c)
    assert [(e["previous_grade"], e["grade"], e["revision"]) for e in emitted] == [
        (None, "A", 1), (None, "A", 2), (None, "H", 3)]
    assert [(h["grade"], h["status"]) for h in emitted[1]["history"]] == [("A", "active"), (None, "lost")]


async def test_pyramid_tiers_follow_the_population_and_only_changes_are_emitted(grading):
    customers = [uuid.uuid4() for _ in range(10)]
    for i, c in enumerate(customers):  # profits 1,000 .. 10,000
        await grading.apply(ev.deal(c, ev.at(i), gross_profit=str(1000 * (i + 1))))
    tiers = {c: (await grading.snapshot(c))["value"]["pyramid_tier"] for c in customers}
    assert tiers[customers[-1]] == "platinum" and tiers[customers[-2]] == "gold"
    assert {tiers[c] for c in customers[:-2]} == {"iron"}
    quiet_before = len(await grading.emitted(customers[0], "customer-valued"))
    newcomer = uuid.uuid4()
    await grading.apply(ev.deal(newcomer, ev.at(20), gross_profit="50000"))
    # 11 customers: ceil(0.55) = 1 platinum, ceil(2.2) = 3 in the top 20%
    assert (await grading.snapshot(newcomer))["value"]["pyramid_tier"] == "platinum"
    assert (await grading.snapshot(customers[-1]))["value"]["pyramid_tier"] == "gold"
    assert (await grading.snapshot(customers[-2]))["value"]["pyramid_tier"] == "gold"
    assert [e["pyramid_tier"] for e in await grading.emitted(customers[-1], "customer-valued")][-1] == "gold"
    assert len(await grading.emitted(customers[0], "customer-valued")) == quiet_before  # unchanged: not emitted
    await grading.apply(ev.deal(uuid.uuid4(), ev.at(21), gross_profit="-500"))
    assert len(grading.valuation.ranking) == 12


async def test_value_measures_from_deals_complaints_and_referrals(grading):
    c = uuid.uuid4()
    await grading.apply(
        ev.contact(c, ev.at(-30), purchase_timeframe=PurchaseTimeframe.WITHIN_1_MONTH),
        ev.deal(c, ev.at(0), amount="180000", list_price="200000", gross_profit="15000", deposit="180000"),
        ev.deal(c, ev.at(10), amount="3000000", gross_profit="300000", product="truck", deposit="3000000"),
        ev.complaint(c, ev.at(12)),
        ev.contact(uuid.uuid4(), ev.at(14), referrer_customer_id=c),
    )
    value = (await grading.snapshot(c))["value"]
    assert value["purchases"] == 2 and value["gross_profit"] == "315000"
    assert value["size_band"] == "medium"  # 3.18M in the last 365 days
    assert value["credit_grade"] == "best"  # both paid in full at the deal
    assert value["share_stability"] is None  # no market share on the card
    assert value["management_class"] == "key" and value["pyramid_tier"] == "platinum"
    assert value["lifecycle_stage"] == "formation" and value["in_decline"] is False
    # (1/5 repeat + 1/3 cross + 1/2 price + 2/3 incidents + (1 - 35/90) time + 1/3 referrals + 0) / 7
    assert value["loyalty_score"] == "37.78" and value["loyalty_stage"] == "ordinary_customer"
    # high credit (best), large (medium), low loyalty: class 2
    assert value["order_class"] == 2 and value["key_account_class"] == "key_development"
    assert value["lifetime_profit"] == "315000.00"


async def test_time_alone_moves_a_customer_into_decline(grading):
    c = uuid.uuid4()
    await grading.apply(ev.deal(c, ev.at(0)), ev.deal(c, ev.at(10)))
    assert (await grading.snapshot(c))["value"]["lifecycle_stage"] == "formation"
    grading.today = AS_OF + timedelta(days=20)
    async with grading.pool.acquire() as conn, conn.transaction():
        assert await grading.valuation.revalue_due(conn, grading.today) == 1
    value = (await grading.snapshot(c))["value"]
    assert value["in_decline"] and value["decline_signals"] == ["overdue_purchase"]
    assert [e["lifecycle_stage"] for e in await grading.emitted(c, "customer-valued")] == ["exploration", "formation",
                                                                                          "decline"]


async def test_consent_keeps_the_latest_by_business_time_and_leaves_the_grade(grading):
    from shared.events.contract import ConsentChanged
    c = uuid.uuid4()
    await grading.apply(ev.contact(c, ev.at(0), purchase_timeframe=PurchaseTimeframe.WITHIN_1_MONTH),
                        ev.envelope(ConsentChanged(marketing_allowed=False), c, ev.at(2)),
                        ev.envelope(ConsentChanged(marketing_allowed=True), c, ev.at(1)))
    async with grading.pool.acquire() as conn:
        assert await conn.fetchval("select marketing_allowed from customer_consent where customer_id = $1", c) is False
    assert [e["grade"] for e in await grading.emitted(c)] == ["A"]


async def test_reconcile_heals_what_another_replica_changed(grading):
    customers = [uuid.uuid4() for _ in range(5)]
    for i, c in enumerate(customers):
        await grading.apply(ev.deal(c, ev.at(i), gross_profit=str(1000 * (i + 1))))
    # another replica (its own ranking) values a newcomer at the top: this one does not see it
    other = Grading(grading.pool)
    other.valuation.ranking = type(grading.valuation.ranking)()
    other.valuation._loaded = True
    newcomer = uuid.uuid4()
    await other.apply(ev.deal(newcomer, ev.at(9), gross_profit="90000"))
    assert (await grading.snapshot(customers[-1]))["value"]["pyramid_tier"] == "platinum"  # stale
    async with grading.pool.acquire() as conn, conn.transaction():
        assert await grading.valuation.reconcile(conn, AS_OF) >= 1
    assert (await grading.snapshot(customers[-1]))["value"]["pyramid_tier"] == "gold"
    assert len(grading.valuation.ranking) == 6
    async with grading.pool.acquire() as conn, conn.transaction():
        assert await grading.valuation.reconcile(conn, AS_OF) == 0


async def test_each_grade_keeps_the_policy_version_that_made_it(grading):
    c = uuid.uuid4()
    await grading.apply(ev.contact(c, ev.at(0), purchase_timeframe=PurchaseTimeframe.WITHIN_1_MONTH))
    stricter = DEFAULT_POLICY.model_copy(update={"version": "2026.2"})
    grading.handlers.policy = stricter
    await grading.apply(ev.follow_up(c, ev.at(1), outcome=FollowUpOutcome.REACHED))  # no change
    snap = await grading.snapshot(c)
    assert snap["prospect"]["policy_version"] == DEFAULT_POLICY.version
    await grading.apply(ev.follow_up(c, ev.at(2), test_drive=True))
    snap = await grading.snapshot(c)
    assert [h["policy_version"] for h in snap["history"]] == [DEFAULT_POLICY.version, "2026.2"]
    assert snap["prospect"]["policy_version"] == "2026.2"
    assert (await grading.emitted(c))[-1]["policy_version"] == "2026.2"


async def test_a_policy_version_names_one_policy_forever(grading, tmp_path, monkeypatch):
    from services.grading.policy_source import POLICY_FILE_ENV, load_policy, register_policy
    custom = DEFAULT_POLICY.model_copy(update={"version": "site-7"})
    path = tmp_path / "policy.json"
    path.write_text(custom.model_dump_json())
    monkeypatch.setenv(POLICY_FILE_ENV, str(path))
    assert load_policy() == custom
    async with grading.pool.acquire() as conn:
        await register_policy(conn, custom)
        await register_policy(conn, custom)  # again: fine
        changed = custom.model_copy(update={"pareto_top_fraction": DEFAULT_POLICY.pareto_top_fraction / 2})
        with pytest.raises(RuntimeError, match="site-7"):
            await register_policy(conn, changed)


def _deal_id() -> uuid.UUID:
    return uuid.uuid4()


async def _value(grading, c):
    return (await grading.snapshot(c))["value"]


async def test_credit_follows_payment_behaviour(grading):
    on_time, late, partly, unpaid, fresh = (uuid.uuid4() for _ in range(5))
    d1, d2, d3, d4, d5 = (_deal_id() for _ in range(5))
    due = date(2026, 3, 10)
    await grading.apply(
        # paid before the due date: best
        ev.deal(on_time, ev.at(0), deal_id=d1, deposit="50000", payment_due_on=due),
        ev.payment(on_time, ev.at(6), d1, amount="150000", paid_on=date(2026, 3, 8), due_on=due),
        # cash sale (due on the deal date 3-02), paid 16 days late: average
        ev.deal(late, ev.at(0), deal_id=d2, deposit="20000"),
        ev.payment(late, ev.at(16), d2, amount="180000", paid_on=date(2026, 3, 18), due_on=date(2026, 3, 2)),
        # due 3-05, 20,000 + 100,000 of 200,000 paid: 80,000 (40%) in arrears: poor
        ev.deal(partly, ev.at(0), deal_id=d3, deposit="20000", payment_due_on=date(2026, 3, 5)),
        ev.payment(partly, ev.at(4), d3, amount="100000", paid_on=date(2026, 3, 6), due_on=date(2026, 3, 5)),
        # due 3-05, only the deposit paid: 90% in arrears: none
        ev.deal(unpaid, ev.at(0), deal_id=d4, deposit="20000", payment_due_on=date(2026, 3, 5)),
        # not due yet: no history, average
        ev.deal(fresh, ev.at(0), deal_id=d5, deposit="20000", payment_due_on=date(2026, 4, 30)),
    )
    grades_ = {name: (await _value(grading, c))["credit_grade"]
               for name, c in [("on_time", on_time), ("late", late), ("partly", partly), ("unpaid", unpaid),
                               ("fresh", fresh)]}
    assert grades_ == {"on_time": "best", "late": "average", "partly": "poor", "unpaid": "none",
                       "fresh": "average"}
    emitted = await grading.emitted(unpaid, "customer-valued")
    assert emitted[-1]["credit_grade"] == "none"
    # a late payment clears the arrears: 15 days late on average, nothing owed: good
    await grading.apply(ev.payment(unpaid, ev.at(18), d4, amount="180000", paid_on=date(2026, 3, 20),
                                   due_on=date(2026, 3, 5)))
    assert (await _value(grading, unpaid))["credit_grade"] == "good"
    assert (await grading.emitted(unpaid, "customer-valued"))[-1]["credit_grade"] == "good"


async def test_a_payment_before_its_deal_counts_once_the_deal_arrives(grading):
    c, d = uuid.uuid4(), _deal_id()
    await grading.apply(ev.payment(c, ev.at(1), d, amount="200000", paid_on=date(2026, 3, 3)))
    assert (await grading.snapshot(c))["value"] is None  # not a customer yet
    await grading.apply(ev.deal(c, ev.at(0), deal_id=d, payment_due_on=date(2026, 3, 4)))
    assert (await _value(grading, c))["credit_grade"] == "best"


async def test_size_and_share_stability_come_from_the_card(grading):
    c = uuid.uuid4()
    await grading.apply(ev.card(c, ev.at(-5), annual_revenue="6000000.00", market_share_pct="85.00"),
                        ev.deal(c, ev.at(0), amount="200000", deposit="200000"))
    value = await _value(grading, c)
    assert value["size_band"] == "big" and value["share_stability"] == "stable"
    # order class: best credit, big, general buyer -> high credit, large, low loyalty
    assert value["order_class"] == 2
    await grading.apply(ev.card(c, ev.at(1), market_share_pct="40.00"),
                        ev.card(c, ev.at(2), name="Li Lei"))  # a change grading does not use
    value = await _value(grading, c)
    assert value["size_band"] == "big" and value["share_stability"] == "unstable"
    await grading.apply(ev.card(c, ev.at(3), annual_revenue=None, market_share_pct="25"))
    value = await _value(grading, c)
    # no annual revenue on the card: the revenue with us (200,000 in the last 365 days) decides
    assert value["size_band"] == "small" and value["share_stability"] == "very_unstable"
    # an older update arriving late does not win over the newer ones
    await grading.apply(ev.card(c, ev.at(-1), annual_revenue="700000", market_share_pct="60"))
    value = await _value(grading, c)
    assert value["size_band"] == "small" and value["share_stability"] == "very_unstable"


def _paying_customer(c: uuid.UUID) -> list:
    d = uuid.uuid5(c, "deal")
    return [
        ev.card(c, ev.at(-3), annual_revenue="6000000", market_share_pct="85"),
        ev.deal(c, ev.at(0), deal_id=d, deposit="20000", payment_due_on=date(2026, 3, 5)),
        ev.payment(c, ev.at(2), d, amount="80000", paid_on=date(2026, 3, 4)),
        ev.payment(c, ev.at(9), d, amount="100000", paid_on=date(2026, 3, 11)),
        ev.card(c, ev.at(5), market_share_pct="55"),
        ev.complaint(c, ev.at(6)),
    ]


@pytest.mark.parametrize("order", ["reversed", "shuffled", "payments_first"])
async def test_deal_payment_and_card_order_does_not_change_the_value(service_db, order):
    c = uuid.uuid4()
    events = _paying_customer(c)
    _, pool = await service_db("grading")
    reference = Grading(pool)
    await reference.apply(*events)
    _, pool2 = await service_db("grading")
    other = Grading(pool2)
    arrival = {"reversed": events[::-1], "shuffled": random.Random(3).sample(events, len(events)),
               "payments_first": [events[3], events[2], events[4], events[0], events[1], events[5]]}[order]
    await other.apply(*arrival)
    value = (await reference.snapshot(c))["value"]
    assert (await other.snapshot(c))["value"] == value
    # paid in full 6 days late (average 6 days late, nothing owed): good; card: big, basically stable
    assert (value["credit_grade"], value["size_band"], value["share_stability"]) == ("good", "big",
                                                                                     "basically_stable")
    assert (await other.emitted(c, "customer-valued"))[-1]["credit_grade"] == "good"
