"""Payments against deals (回款): balance and the rules a payment must keep."""
import uuid
from datetime import date
from decimal import Decimal

from services.followup.domain.payments import balance_of, payment_problems, payment_recorded

D = Decimal


def test_the_balance_is_the_amount_less_deposit_and_payments_never_negative():
    assert balance_of(D("150000"), D("5000"), [D("45000"), D("0.5")]) == D("99999.50")
    assert balance_of(D("100"), D("100"), []) == D("0.00")
    assert balance_of(D("100"), D("60"), [D("60")]) == D("0.00")


def test_a_payment_may_not_exceed_the_balance_nor_be_dated_in_the_future_or_before_the_deal():
    ok = {"closed_on": date(2026, 3, 1), "today": date(2026, 3, 20)}
    assert payment_problems(amount=D("10"), paid_on=date(2026, 3, 20), balance=D("10"), **ok) == []
    assert [f for f, _ in payment_problems(amount=D("10.01"), paid_on=date(2026, 3, 5), balance=D("10"), **ok)] \
        == ["amount"]
    assert [f for f, _ in payment_problems(amount=D("0"), paid_on=date(2026, 3, 5), balance=D("10"), **ok)] \
        == ["amount"]
    both = payment_problems(amount=D("11"), paid_on=date(2026, 3, 21), balance=D("10"), **ok)
    assert [f for f, _ in both] == ["amount", "paid_on"] and "future" in both[1][1]
    assert [f for f, _ in payment_problems(amount=D("1"), paid_on=date(2026, 2, 28), balance=D("10"), **ok)] \
        == ["paid_on"]


def test_the_event_carries_the_balance_after_the_payment():
    deal_id = uuid.uuid4()
    event = payment_recorded(deal_id=deal_id, amount=D("45000"), paid_on=date(2026, 3, 5), due_on=date(2026, 3, 1),
                             balance=D("145000"))
    assert (event.deal_id, event.balance_after, event.due_on) == (deal_id, D("100000.00"), date(2026, 3, 1))
