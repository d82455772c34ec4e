"""Refused marketing consent suppresses marketing work at once; complaint and service work stays."""
from datetime import timedelta

from shared.events.enums import Channel

from services.followup.domain import (
    TaskKind,
    TaskStatus,
    cancellations_on_refusal,
    first_contact_task,
    is_suppressed,
    permitted,
)

from .factories import CUSTOMER, NOW, POLICY, record, task

import uuid


def all_kinds():
    return [task(kind, due=NOW + timedelta(hours=i)) for i, kind in enumerate(TaskKind)]


def test_refused_consent_suppresses_marketing_kinds_only():
    kept = permitted(all_kinds(), marketing_allowed=False)
    assert {t.kind for t in kept} == {TaskKind.DELIVERY, TaskKind.DEAL_3DAY_CALL, TaskKind.SERVICE_3DAY_CALL,
                                      TaskKind.COMPLAINT_SURVEY}


def test_granted_consent_suppresses_nothing():
    assert len(permitted(all_kinds(), marketing_allowed=True)) == len(TaskKind)


def test_refusal_cancels_pending_marketing_work_at_once():
    tasks = all_kinds()
    done_cadence = task(TaskKind.CADENCE, key="done").complete(record(), NOW).task
    changes = cancellations_on_refusal([*tasks, done_cadence], NOW)
    assert {c.task.kind for c in changes} == {TaskKind.FIRST_CONTACT, TaskKind.CADENCE, TaskKind.BIRTHDAY_CARE,
                                               TaskKind.ANNIVERSARY_CARE, TaskKind.BASE_MAINTENANCE,
                                               TaskKind.DECLINE_RECOVERY}
    assert all(c.task.status == TaskStatus.CANCELLED and c.task.cancel_reason == "marketing consent refused"
               for c in changes)
    assert done_cadence.task_id not in {c.task.task_id for c in changes}  # history is untouched


def test_answering_a_customer_who_reached_out_is_not_marketing():
    def first(channel):
        return first_contact_task(customer_id=CUSTOMER, contact_id=uuid.uuid5(CUSTOMER, channel), channel=channel,
                                  owner_id="alice", received_at=NOW, now=NOW, policy=POLICY)
    web = first(Channel.WEB_FORM)  # "I emailed through the website a month ago, nobody answered"
    assert not is_suppressed(web, marketing_allowed=False)
    imported = first(Channel.BULK_IMPORT)  # exhibition business cards: prospecting is marketing
    assert is_suppressed(imported, marketing_allowed=False)
