"""First contact, 新车3日DC and 售后3日DC due times."""
import uuid
from datetime import timedelta

from shared.events.enums import Channel, IntentGrade

from services.followup.domain import (
    TaskKind,
    deal_call_task,
    first_contact_due,
    first_contact_task,
    service_call_task,
)

from .factories import CUSTOMER, NOW, POLICY, at

CONTACT = uuid.UUID("00000000-0000-0000-0000-00000000aa01")


def test_first_contact_within_one_day():
    assert first_contact_due(NOW, POLICY) == NOW + timedelta(days=1)


def test_walk_in_with_an_agreed_next_visit_is_due_then():
    visit = at(2024, 6, 8, 15)  # 对有意向者订定下次再访时间
    assert first_contact_due(NOW, POLICY, next_visit_at=visit) == visit
    t = first_contact_task(customer_id=CUSTOMER, contact_id=CONTACT, channel=Channel.WALK_IN, owner_id="alice",
                           received_at=NOW, now=NOW, policy=POLICY, next_visit_at=visit, grade=IntentGrade.A)
    assert (t.kind, t.due_at, t.grade, t.marketing) == (TaskKind.FIRST_CONTACT, visit, IntentGrade.A, False)


def test_a_next_visit_in_the_past_falls_back_to_the_default_delay():
    assert first_contact_due(NOW, POLICY, next_visit_at=NOW - timedelta(hours=1)) == NOW + timedelta(days=1)


def test_one_first_contact_per_contact():
    kwargs = dict(customer_id=CUSTOMER, channel=Channel.PHONE, owner_id="alice", received_at=NOW, now=NOW,
                  policy=POLICY)
    assert first_contact_task(contact_id=CONTACT, **kwargs).task_id == first_contact_task(
        contact_id=CONTACT, **kwargs).task_id
    assert first_contact_task(contact_id=CONTACT, **kwargs).task_id != first_contact_task(
        contact_id=uuid.uuid4(), **kwargs).task_id


def test_deal_three_day_call():
    t = deal_call_task(customer_id=CUSTOMER, deal_id=CONTACT, owner_id="alice", delivered_at=NOW, now=NOW,
                       policy=POLICY)
    assert (t.kind, t.due_at, t.marketing) == (TaskKind.DEAL_3DAY_CALL, NOW + timedelta(days=3), False)


def test_service_three_day_call():
    t = service_call_task(customer_id=CUSTOMER, visit_id=CONTACT, owner_id="svc", visited_at=NOW, now=NOW,
                          policy=POLICY)
    assert (t.kind, t.due_at, t.marketing) == (TaskKind.SERVICE_3DAY_CALL, NOW + timedelta(days=3), False)
