"""Deal (成交) validation and the work it triggers."""
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

from shared.events.contract import DealItem
from shared.events.enums import Channel

from services.followup.domain import (
    DealDraft,
    DealInvalid,
    TaskKind,
    TaskStatus,
    deal_problems,
    on_deal_closed,
    validate_deal,
)
from services.followup.domain.deals import items_total

from .factories import CUSTOMER, NOW, POLICY, task

DEAL = uuid.UUID(int=77)
ITEMS = (DealItem(product="Sedan X", quantity=1, unit_price=Decimal("150000.00")),
         DealItem(product="Floor mats", quantity=2, unit_price=Decimal("250.50")))


def draft(**kw):
    fields = dict(deal_id=DEAL, consultant_id="alice", items=ITEMS, gross_profit=Decimal("12000"),
                  deposit=Decimal("1000"), closed_on=date(2024, 6, 3), channel=Channel.WALK_IN, campaign="618")
    fields.update(kw)
    return DealDraft(**fields)


def test_amount_defaults_to_the_sum_of_items():
    assert items_total(ITEMS) == Decimal("150501.00")
    deal = validate_deal(draft(), NOW)
    assert deal.amount == Decimal("150501.00")
    assert (deal.deal_id, deal.channel, deal.campaign, deal.deposit) == (DEAL, Channel.WALK_IN, "618",
                                                                         Decimal("1000"))


def test_the_payment_is_due_on_the_deal_date_unless_a_due_date_is_given():
    assert validate_deal(draft(), NOW).payment_due_on == date(2024, 6, 3)  # cash sale
    assert validate_deal(draft(payment_due_on=date(2024, 7, 3)), NOW).payment_due_on == date(2024, 7, 3)


def test_an_explicit_amount_is_kept():
    assert validate_deal(draft(amount=Decimal("148000")), NOW).amount == Decimal("148000")


@pytest.mark.parametrize(("change", "problem"), [
    ({"items": ()}, "at least one item"),
    ({"deposit": Decimal("200000")}, "deposit 200000 exceeds the amount"),
    ({"deposit": Decimal("-1")}, "deposit must not be negative"),
    ({"amount": Decimal("-5")}, "amount must not be negative"),
    ({"gross_profit": Decimal("160000")}, "gross profit 160000 exceeds the amount"),
    ({"closed_on": date(2024, 6, 4)}, "is in the future"),
    ({"amount": Decimal("1.234")}, "more than 2 decimal places"),
    ({"items": ITEMS * 101}, "at most 200 items"),
    ({"payment_due_on": date(2024, 6, 2)}, "payment_due_on 2024-06-02 is before the deal date"),
])
def test_invalid_deals_name_the_problem(change, problem):
    with pytest.raises(DealInvalid, match=problem):
        validate_deal(draft(**change), NOW)


def test_every_problem_is_reported_at_once():
    problems = deal_problems(draft(amount=Decimal("100"), deposit=Decimal("500"), gross_profit=Decimal("200"),
                                   closed_on=date(2030, 1, 1)), NOW)
    assert len(problems) == 3


def test_negative_gross_profit_is_allowed():
    assert validate_deal(draft(gross_profit=Decimal("-500")), NOW).gross_profit == Decimal("-500")


def test_today_is_the_business_day_not_utc():
    """One owner of the business day (shared.business_time): a deal is dated in the business zone,
    whatever zone a policy's working-hours calendar counts its hours in (it takes no policy)."""
    late_evening = NOW.replace(hour=23)  # 2024-06-03 23:00 Shanghai is still 2024-06-03 15:00 UTC
    assert validate_deal(draft(closed_on=date(2024, 6, 3)), late_evening)
    early = NOW.replace(hour=1)  # 2024-06-03 01:00 Shanghai = 2024-06-02 UTC: still the 3rd locally
    assert validate_deal(draft(closed_on=date(2024, 6, 3)), early)


def test_a_deal_triggers_the_three_day_call_and_ends_prospect_cadence():
    cadence = task(TaskKind.CADENCE, due=NOW + timedelta(days=2))
    first = task(TaskKind.FIRST_CONTACT, due=NOW + timedelta(days=1))
    delivery = task(TaskKind.DELIVERY, due=NOW + timedelta(days=1))
    birthday = task(TaskKind.BIRTHDAY_CARE, due=NOW + timedelta(days=1))
    result = on_deal_closed(validate_deal(draft(), NOW), customer_id=CUSTOMER,
                            open_tasks=[cadence, first, delivery, birthday], delivered_at=NOW, now=NOW, policy=POLICY)
    assert {c.task.task_id for c in result.cancel} == {cadence.task_id, first.task_id}
    assert all(c.task.status == TaskStatus.CANCELLED for c in result.cancel)
    call = result.call
    assert (call.kind, call.owner_id, call.due_at, call.marketing) == (TaskKind.DEAL_3DAY_CALL, "alice",
                                                                       NOW + timedelta(days=3), False)


def test_a_deal_of_history_ends_prospect_work_and_schedules_no_call():
    first = task(TaskKind.FIRST_CONTACT, due=NOW + timedelta(days=1))
    result = on_deal_closed(validate_deal(draft(closed_on=date(2022, 6, 3)), NOW), customer_id=CUSTOMER,
                            open_tasks=[first], delivered_at=NOW, now=NOW, policy=POLICY, historical=True)
    assert [c.task.task_id for c in result.cancel] == [first.task_id] and result.call is None
