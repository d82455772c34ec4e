"""Credit from deals and payments (one invoice per deal) and size / share from the customer card."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from services.grading.domain.credit import Invoice, payment_behaviour
from services.grading.domain.customer_value import (
    CardFact,
    PaymentFact,
    PurchaseFact,
    ValueInputs,
    assess_customer_value,
    card_fact,
    card_profile,
    invoices_of,
    payment_fact,
)
from services.grading.domain.segments import ManagementClass, PyramidTier
from shared.events.contract import CustomerUpdated, PaymentRecorded

AS_OF = date(2026, 6, 30)
T = datetime(2026, 6, 1, tzinfo=UTC)


def deal(deal_id, closed_on=date(2026, 6, 1), amount="100000", deposit="0", due_on=None) -> PurchaseFact:
    return PurchaseFact(fact_id=uuid.uuid4(), occurred_at=T, closed_on=closed_on, amount=D(amount),
                        gross_profit=D("1000"), list_amount=D(amount), deal_id=deal_id, deposit=D(deposit),
                        due_on=due_on)


def pay(deal_id, paid_on, amount) -> PaymentFact:
    return PaymentFact(fact_id=uuid.uuid4(), occurred_at=T, deal_id=deal_id, amount=D(amount), paid_on=paid_on)


def card(day: float, **fields) -> CardFact:
    return CardFact(fact_id=uuid.uuid4(), occurred_at=T + timedelta(days=day), fields=tuple(fields), **fields)


def test_one_invoice_per_deal_settled_when_deposit_and_payments_reach_the_amount():
    d = uuid.uuid4()
    [inv] = invoices_of([deal(d, deposit="20000", due_on=date(2026, 6, 10))],
                        [pay(d, date(2026, 6, 12), "80000"), pay(d, date(2026, 6, 5), "0.01"),
                         pay(uuid.uuid4(), date(2026, 6, 2), "100000")])  # another deal's payment
    assert (inv.amount, inv.due_on, inv.paid_on) == (D("100000"), date(2026, 6, 10), date(2026, 6, 12))
    [cash] = invoices_of([deal(d, deposit="20000")], [])
    assert (cash.due_on, cash.paid_on) == (date(2026, 6, 1), None)  # cash sale: due on the deal date
    [zero] = invoices_of([deal(d, amount="0")], [])
    assert zero.paid_on == date(2026, 6, 1)
    legacy = deal(None)  # stored before payments were tracked: not invoiced
    assert invoices_of([legacy], []) == []


def test_arrears_are_what_is_unpaid_of_an_invoice_past_due():
    inv = Invoice(amount=D(100), due_on=date(2026, 6, 1), payments=((date(2026, 6, 1), D(30)),
                                                                    (date(2026, 7, 5), D(70))))
    b = payment_behaviour([inv], AS_OF)
    assert (b.arrears, b.max_days_late) == (D(70), 29)  # the July payment is not known on June 30


def test_payment_and_card_events_become_facts():
    d = uuid.uuid4()
    p = payment_fact(uuid.uuid4(), T, PaymentRecorded(deal_id=d, amount=D("5"), paid_on=date(2026, 6, 2),
                                                      due_on=date(2026, 6, 1), balance_after=D("0")))
    assert (p.deal_id, p.amount, p.paid_on) == (d, D("5"), date(2026, 6, 2))
    c = card_fact(uuid.uuid4(), T, CustomerUpdated(changed_fields=["annual_revenue", "market_share_pct", "name"],
                                                   card={"annual_revenue": "6000000.00", "market_share_pct": "85.00",
                                                         "name": "x"}))
    assert (c.fields, c.annual_revenue, c.market_share) == (("annual_revenue", "market_share"), D("6000000.00"),
                                                            D("0.85"))
    cleared = card_fact(uuid.uuid4(), T, CustomerUpdated(changed_fields=["annual_revenue"],
                                                         card={"annual_revenue": None}))
    assert cleared.fields == ("annual_revenue",) and cleared.annual_revenue is None
    assert card_fact(uuid.uuid4(), T, CustomerUpdated(changed_fields=["name"], card={"name": "x"})) is None


def test_the_latest_card_value_of_each_field_wins():
    cards = [card(0, annual_revenue=D(6000000), market_share=D("0.85")), card(2, market_share=D("0.4")),
             card(1, annual_revenue=None)]
    assert card_profile(cards) == (None, D("0.4"))
    assert card_profile(cards[::-1]) == (None, D("0.4"))
    assert card_profile([]) == (None, None)


def test_value_uses_the_card_and_falls_back_to_revenue_with_us():
    d = uuid.uuid4()
    purchases = [deal(d, deposit="100000")]
    v = assess_customer_value(ValueInputs.of(purchases, cards=[card(0, annual_revenue=D(6000000),
                                                                    market_share=D("0.85"))]),
                              AS_OF, PyramidTier.IRON, ManagementClass.GENERAL)
    assert (v.size_band, v.share_stability, v.credit_grade) == ("big", "stable", "best")
    v = assess_customer_value(ValueInputs.of(purchases), AS_OF, PyramidTier.IRON, ManagementClass.GENERAL)
    assert (v.size_band, v.share_stability) == ("small", None)  # 100,000 with us: 50k-500k counts as small


events = st.lists(st.one_of(
    st.builds(lambda day, amount: ("pay", day, amount), st.integers(0, 60), st.sampled_from(["10000", "60000"])),
    st.builds(lambda day, rev, share: ("card", day, rev, share), st.integers(-5, 5),
              st.sampled_from([None, D(40000), D(6000000)]), st.sampled_from([None, D("0.2"), D("0.9")])),
), max_size=8)


@settings(max_examples=100, deadline=None)
@given(events, st.randoms(use_true_random=False))
def test_value_with_payments_and_cards_is_a_function_of_the_set_of_facts(items, rnd):
    d = uuid.uuid4()
    purchases = [deal(d, deposit="10000", due_on=date(2026, 6, 15))]
    payments = [pay(d, date(2026, 5, 20) + timedelta(days=e[1]), e[2]) for e in items if e[0] == "pay"]
    cards = [card(e[1], annual_revenue=e[2], market_share=e[3]) for e in items if e[0] == "card"]
    a = assess_customer_value(ValueInputs.of(purchases, payments=payments, cards=cards), AS_OF,
                              PyramidTier.GOLD, ManagementClass.SUITABLE)
    rnd.shuffle(payments)
    rnd.shuffle(cards)
    b = assess_customer_value(ValueInputs.of(purchases, payments=payments + payments[:1], cards=cards + cards[:1]),
                              AS_OF, PyramidTier.GOLD, ManagementClass.SUITABLE)
    assert a == b
