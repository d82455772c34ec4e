"""The value ranking against a real database: ties, a ranking rebuilt mid-transaction, referral gains.

Every customer's stored tier must be the one domain §8 gives its current profit (its facts), whatever
the interleaving of consumers and the periodic jobs, and whatever order referrals, deals and merges
arrive in.
"""
from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from services.grading.domain.pyramid import pyramid_tiers

from . import events as ev
from .test_handlers import AS_OF, Grading


@pytest.fixture
async def grading(service_db):
    _, pool = await service_db("grading")
    return Grading(pool)


async def stored(grading: Grading) -> dict[uuid.UUID, tuple[Decimal, str, Decimal]]:
    """customer -> (stored ranking profit, stored tier, published gross profit)."""
    async with grading.pool.acquire() as conn:
        rows = await conn.fetch("select customer_id, profit, value->>'pyramid_tier' as tier, "
                                "(value->>'gross_profit')::numeric as gross_profit from customer_values")
    return {r["customer_id"]: (r["profit"], r["tier"], r["gross_profit"]) for r in rows}


async def reconcile(grading: Grading, as_of=AS_OF) -> int:
    async with grading.pool.acquire() as conn, conn.transaction():
        return await grading.valuation.reconcile(conn, as_of)


def assert_tiers_follow_profits(values: dict, expected_profits: dict) -> None:
    """Stored profit = published gross profit = the facts' profit; tiers = domain §8 on those profits."""
    assert {c: v[0] for c, v in values.items()} == expected_profits
    assert {c: v[2] for c, v in values.items()} == expected_profits
    assert {c: v[1] for c, v in values.items()} == {c: t.value for c, t in pyramid_tiers(expected_profits).items()}


async def test_equal_profits_give_the_top_cut_to_the_lower_id(grading):
    ids = sorted(uuid.uuid4() for _ in range(10))  # ceil(5% of 10) = 1 platinum, ceil(20%) = 2
    for c in reversed(ids):
        await grading.apply(ev.deal(c, ev.at(0), gross_profit="5000"))
    tiers = {c: v[1] for c, v in (await stored(grading)).items()}
    assert [tiers[c] for c in ids[:3]] == ["platinum", "gold", "iron"]
    assert await reconcile(grading) == 0


async def test_a_ranking_rebuilt_while_a_consumer_batch_is_open_leaves_no_stale_tier(grading):
    """The periodic reconcile ran in its own transaction while the consumer's batch, which had just
    moved a customer's profit, was not committed yet (the in-process lock is released between
    messages, before the batch commits). The stale profit it read must not stick."""
    others = [uuid.uuid4() for _ in range(20)]
    for i, c in enumerate(others):
        await grading.apply(ev.deal(c, ev.at(i), gross_profit=str(1000 * (i + 1))))
    x = uuid.uuid4()
    await grading.apply(ev.deal(x, ev.at(0), gross_profit="100"), ev.deal(x, ev.at(1), gross_profit="100"))
    assert (await stored(grading))[x][1] == "iron"

    deal_closed = grading.handlers.handlers()["deal-closed"]
    async with grading.pool.acquire() as consumer, grading.pool.acquire() as periodic:
        batch = consumer.transaction()
        await batch.start()
        inbounds = [ev.inbound(ev.deal(x, ev.at(2 + k), gross_profit="5000")) for k in range(23)]
        for inbound in inbounds:  # 2 of 25 purchases committed, the other 23 in this open batch
            await deal_closed(consumer, inbound)
        await grading.handlers.after_batch(consumer, inbounds)
        async with periodic.transaction():
            await asyncio.wait_for(grading.valuation.reconcile(periodic, AS_OF), 10)
        await batch.commit()

    profits = {c: Decimal(1000 * (i + 1)) for i, c in enumerate(others)} | {x: Decimal(115200)}
    # a day later: the daily re-valuation values x again, then the reconcile of the same tick
    tomorrow = AS_OF + timedelta(days=1)
    async with grading.pool.acquire() as conn, conn.transaction():
        await grading.valuation.revalue_due(conn, tomorrow)
    assert (await stored(grading))[x][:2] == (Decimal(115200), "platinum")
    await reconcile(grading, tomorrow)
    assert_tiers_follow_profits(await stored(grading), profits)
    assert await reconcile(grading, tomorrow) == 0  # and stays so
    assert_tiers_follow_profits(await stored(grading), profits)


def referral_story(referrer: uuid.UUID, referred: uuid.UUID) -> list:
    return [
        ev.deal(referrer, ev.at(0), gross_profit="10000"),
        ev.contact(referred, ev.at(1), referrer_customer_id=referrer),
        ev.contact(referred, ev.at(1.5), referrer_customer_id=referrer),  # named twice: one referral
        ev.deal(referred, ev.at(2), gross_profit="20000"),
        ev.deal(referred, ev.at(3), gross_profit="-3000"),  # a loss: no gain
        ev.deal(referred, ev.at(4), gross_profit="12345.65"),  # 1234.565 -> 1234.57
    ]


@pytest.mark.parametrize("order", ["in_order", "reversed", "deals_before_referral", "shuffled"])
async def test_referral_gains_do_not_depend_on_the_order_of_events(grading, order):
    r, x = uuid.uuid4(), uuid.uuid4()
    story = referral_story(r, x)
    arrival = {"in_order": story, "reversed": story[::-1],
               "deals_before_referral": [story[0], *story[3:], *story[1:3]],
               "shuffled": random.Random(11).sample(story, len(story))}[order]
    await grading.apply(*arrival)
    value = await grading.snapshot(r)
    assert value["value"]["gross_profit"] == "13234.57" and value["value"]["referral_gains"] == "3234.57"
    assert value["value"]["lifetime_profit"] == "13234.57"  # all within the first year
    assert (await grading.snapshot(x))["value"]["referral_gains"] == "0"
    assert await reconcile(grading) == 0  # the SQL ranking agrees with value_one to the cent
    assert (await stored(grading))[r][0] == Decimal("13234.57")
    published = await grading.emitted(r, "customer-valued")
    assert published[-1]["gross_profit"] == "13234.57"


async def test_the_referral_counts_once_for_loyalty(grading):
    r, x = uuid.uuid4(), uuid.uuid4()
    await grading.apply(*referral_story(r, x))
    alone = uuid.uuid4()
    await grading.apply(ev.deal(alone, ev.at(0), gross_profit="10000"))
    # referrals: 1 of 3 for full marks, whatever the number of contacts naming the referrer
    scores = {c: Decimal((await grading.snapshot(c))["value"]["loyalty_score"]) for c in (r, alone)}
    assert scores[r] - scores[alone] == (Decimal(100) / 3 / 7).quantize(Decimal("0.01"))


@pytest.mark.parametrize("merge_first", [False, True])
async def test_merges_move_referrals_and_referred_deals_to_the_survivors(service_db, merge_first):
    _, pool = await service_db("grading")
    grading = Grading(pool)
    r, s, x, y = (uuid.uuid4() for _ in range(4))  # r merges into s; x (referred by r) into y
    merges = [ev.merge(s, r, ev.at(5)), ev.merge(y, x, ev.at(6))]
    story = [
        ev.deal(r, ev.at(0), gross_profit="1000"), ev.deal(s, ev.at(0), gross_profit="2000"),
        ev.contact(x, ev.at(1), referrer_customer_id=r),
        ev.deal(x, ev.at(2), gross_profit="10000"), ev.deal(y, ev.at(3), gross_profit="30000"),
    ]
    await grading.apply(*(merges + story if merge_first else story + merges))
    survivor = (await grading.snapshot(s))["value"]
    # s: its deal and r's, and 10% of every deal of y (x's included)
    assert (survivor["gross_profit"], survivor["referral_gains"]) == ("7000.00", "4000.00")
    assert (await grading.snapshot(r))["value"] is None and (await grading.snapshot(x))["value"] is None
    assert (await grading.snapshot(y))["value"]["gross_profit"] == "40000"
    assert await reconcile(grading) == 0
    # a deal of the merged referred id, arriving now, still credits the referrer's survivor
    await grading.apply(ev.deal(x, ev.at(7), gross_profit="5000"))
    assert (await grading.snapshot(s))["value"]["gross_profit"] == "7500.00"
    assert await reconcile(grading) == 0


async def test_a_referral_between_records_merged_later_is_no_referral(grading):
    r, x = uuid.uuid4(), uuid.uuid4()
    await grading.apply(ev.deal(r, ev.at(0), gross_profit="1000"), ev.contact(x, ev.at(1), referrer_customer_id=r),
                        ev.deal(x, ev.at(2), gross_profit="10000"))
    assert (await grading.snapshot(r))["value"]["referral_gains"] == "1000.00"
    await grading.apply(ev.merge(r, x, ev.at(3)))  # the same person: it cannot have referred itself
    value = (await grading.snapshot(r))["value"]
    assert (value["gross_profit"], value["referral_gains"]) == ("11000", "0")
    assert await reconcile(grading) == 0
