"""Task kinds, statuses and transitions: a done or cancelled task never changes again."""
import uuid
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.events.enums import Channel, ContactMethod, FollowUpOutcome, PurchaseTimeframe

from services.followup.domain import (
    MARKETING_KINDS,
    SERVICE_KINDS,
    CompletionTimeInvalid,
    FollowUpTask,
    InvalidTransition,
    TaskKind,
    TaskStatus,
    first_contact_task,
    missing_tasks,
    task_id_for,
)

from .factories import CUSTOMER, NOW, OTHER_CUSTOMER, POLICY, record, task


def test_marketing_and_service_kinds_partition_all_kinds():
    assert set(TaskKind) == MARKETING_KINDS | SERVICE_KINDS
    assert not MARKETING_KINDS & SERVICE_KINDS
    marketing = {TaskKind.FIRST_CONTACT, TaskKind.CADENCE, TaskKind.BIRTHDAY_CARE, TaskKind.ANNIVERSARY_CARE,
                 TaskKind.BASE_MAINTENANCE, TaskKind.DECLINE_RECOVERY}
    service = {TaskKind.DELIVERY, TaskKind.DEAL_3DAY_CALL, TaskKind.SERVICE_3DAY_CALL, TaskKind.COMPLAINT_SURVEY}
    assert (marketing, service) == (MARKETING_KINDS, SERVICE_KINDS)


def test_task_marketing_flag_must_match_its_kind():
    assert task(TaskKind.CADENCE).marketing is True
    assert task(TaskKind.COMPLAINT_SURVEY).marketing is False
    with pytest.raises(ValidationError):
        task(TaskKind.COMPLAINT_SURVEY, marketing=True)
    with pytest.raises(ValidationError):
        task(TaskKind.BIRTHDAY_CARE, marketing=False)
    assert task(TaskKind.FIRST_CONTACT, marketing=False).marketing is False  # customer-initiated


def test_delivery_tasks_need_a_step_and_others_have_none():
    t = task(TaskKind.CADENCE)
    with pytest.raises(ValidationError):
        FollowUpTask(**{**t.model_dump(), "kind": TaskKind.DELIVERY, "marketing": False, "grade": None})


def test_task_ids_are_deterministic_and_distinct():
    assert task_id_for(CUSTOMER, TaskKind.CADENCE, "k") == task_id_for(CUSTOMER, TaskKind.CADENCE, "k")
    ids = {task_id_for(CUSTOMER, TaskKind.CADENCE, "k"), task_id_for(CUSTOMER, TaskKind.CADENCE, "k2"),
           task_id_for(CUSTOMER, TaskKind.BIRTHDAY_CARE, "k"), task_id_for(OTHER_CUSTOMER, TaskKind.CADENCE, "k")}
    assert len(ids) == 4


def test_complete_logs_the_record():
    rec = record(method=ContactMethod.VISIT, outcome=FollowUpOutcome.VISITED, content="test drive done",
                 test_drive=True, quote_accepted=True, budget_confirmed=True, deposit_amount="1000.00",
                 purchase_timeframe=PurchaseTimeframe.WITHIN_7_DAYS, next_contact_at=NOW + timedelta(days=1))
    change = task(due=NOW + timedelta(hours=2)).complete(rec, NOW)
    assert change.changed and change.task.status == TaskStatus.DONE
    assert change.task.record == rec and change.task.completed_at == NOW


def test_completing_twice_is_a_no_op_that_says_already_done():
    done = task().complete(record(), NOW).task
    again = done.complete(record(content="second call"), NOW + timedelta(hours=1))
    assert not again.changed and again.note == "already done"
    assert again.task == done  # the first record stands


def test_a_cancelled_task_cannot_be_completed_or_cancelled_again():
    cancelled = task().cancel("grade changed", NOW).task
    assert cancelled.status == TaskStatus.CANCELLED and cancelled.cancel_reason == "grade changed"
    for change in (cancelled.complete(record(), NOW), cancelled.cancel("again", NOW),
                   cancelled.mark_overdue(NOW + timedelta(days=9)), cancelled.reschedule(NOW + timedelta(days=1)),
                   cancelled.reassign("bob"), cancelled.mark_escalated(NOW)):
        assert not change.changed and change.note == "already cancelled" and change.task == cancelled


def test_a_done_task_cannot_be_cancelled():
    done = task().complete(record(), NOW).task
    change = done.cancel("too late", NOW)
    assert not change.changed and change.task.status == TaskStatus.DONE


def test_cancel_needs_a_reason():
    with pytest.raises(InvalidTransition, match="reason"):
        task().cancel("  ", NOW)


def test_next_contact_date_must_be_in_the_future():
    with pytest.raises(InvalidTransition, match="next contact"):
        task().complete(record(next_contact_at=NOW - timedelta(minutes=1)), NOW)


def test_mark_overdue_only_after_due():
    t = task(due=NOW)
    assert t.mark_overdue(NOW).note == "not yet due"  # due is not late: strictly after
    change = t.mark_overdue(NOW + timedelta(seconds=1))
    assert change.changed and change.task.status == TaskStatus.OVERDUE
    assert change.task.overdue_at == NOW + timedelta(seconds=1)
    assert not change.task.mark_overdue(NOW + timedelta(days=1)).changed


def test_an_overdue_task_can_still_be_done_or_cancelled():
    overdue = task(due=NOW).mark_overdue(NOW + timedelta(hours=1)).task
    assert overdue.complete(record(), NOW + timedelta(hours=2)).task.status == TaskStatus.DONE
    assert overdue.cancel("customer moved away", NOW + timedelta(hours=2)).task.status == TaskStatus.CANCELLED


def test_reschedule_reopens_an_overdue_task_and_clears_its_escalation():
    late = task(due=NOW).mark_overdue(NOW + timedelta(days=2)).task.mark_escalated(NOW + timedelta(days=2)).task
    moved = late.reschedule(NOW + timedelta(days=5)).task
    assert moved.status == TaskStatus.OPEN and moved.overdue_at is None and moved.escalated_at is None
    assert moved.task_id == late.task_id
    assert not moved.reschedule(moved.due_at).changed


def test_escalation_is_recorded_once():
    first = task(due=NOW).mark_escalated(NOW + timedelta(days=2))
    assert first.changed
    assert first.task.mark_escalated(NOW + timedelta(days=3)).note == "already escalated"


def test_reassign_moves_pending_work_only():
    assert task().reassign("bob").task.owner_id == "bob"
    assert not task().reassign("alice").changed
    with pytest.raises(InvalidTransition):
        task().reassign("")


def test_missing_tasks_is_idempotent():
    a, b = task(due=NOW), task(due=NOW + timedelta(days=1))
    assert missing_tasks([a, b, a], []) == [a, b]
    assert missing_tasks([a, b], [a]) == [b]
    assert missing_tasks([a, b], [a, b]) == []


def test_naive_times_are_refused():
    from datetime import datetime
    with pytest.raises(ValueError):
        task().complete(record(), datetime(2024, 6, 3, 10))
    with pytest.raises(ValidationError):
        FollowUpTask(**{**task().model_dump(), "due_at": datetime(2024, 6, 3)})


def test_record_rejects_negative_deposit():
    with pytest.raises(ValidationError):
        record(deposit_amount=-1)
    assert uuid.UUID(str(task().task_id))


# -- when a follow-up was done: `completed_at` given by the consultant ---------------------------------------

def test_a_follow_up_logged_later_is_done_when_it_was_done():
    t = task(due=NOW + timedelta(hours=2), created=NOW - timedelta(days=1))
    yesterday = NOW - timedelta(hours=20)
    done = t.complete(record(), NOW, yesterday).task
    assert done.completed_at == yesterday and done.done_late is False
    assert t.complete(record(), NOW).task.completed_at == NOW  # without a time: now


def test_lateness_of_a_done_task_is_judged_on_when_it_was_done_not_when_it_was_logged():
    t = task(due=NOW - timedelta(days=3), created=NOW - timedelta(days=5))
    on_time = t.complete(record(), NOW, NOW - timedelta(days=4)).task  # logged 4 days later, done before due
    late = t.complete(record(), NOW, NOW - timedelta(days=2)).task
    assert on_time.done_late is False and late.done_late is True
    assert t.complete(record(), NOW).task.done_late is True  # done now, three days after due
    assert t.done_late is None and t.cancel("moved away", NOW).task.done_late is None


def test_a_follow_up_cannot_be_done_in_the_future():
    with pytest.raises(CompletionTimeInvalid, match="future"):
        task().complete(record(), NOW, NOW + timedelta(seconds=1))


def test_a_follow_up_cannot_be_done_before_the_task_was_created():
    t = task(due=NOW + timedelta(days=1), created=NOW - timedelta(hours=1))
    with pytest.raises(CompletionTimeInvalid, match="before"):
        t.complete(record(), NOW, NOW - timedelta(hours=1, seconds=1))
    assert t.complete(record(), NOW, NOW - timedelta(hours=1)).changed  # the moment it was created is fine


def test_work_for_a_contact_keyed_late_may_be_done_from_the_contact_on():
    """A walk-in of three days ago keyed today: the first contact may have been made since the visit."""
    visit = NOW - timedelta(days=3)
    t = first_contact_task(customer_id=CUSTOMER, contact_id=uuid.uuid4(), channel=Channel.WALK_IN, owner_id="alice",
                           received_at=visit, now=NOW, policy=POLICY)
    assert t.created_at == NOW and t.work_arose_at == visit
    assert t.complete(record(), NOW, visit + timedelta(hours=2)).task.done_late is False
    with pytest.raises(CompletionTimeInvalid, match="before"):
        t.complete(record(), NOW, visit - timedelta(minutes=1))
    # a contact not in the past of the task's creation changes nothing
    now_task = first_contact_task(customer_id=CUSTOMER, contact_id=uuid.uuid4(), channel=Channel.WALK_IN,
                                  owner_id="alice", received_at=NOW, now=NOW, policy=POLICY)
    assert now_task.arose_at is None and now_task.work_arose_at == NOW


def test_a_wrong_completion_time_is_refused_even_for_a_done_task_and_a_repeat_is_a_no_op():
    done = task(created=NOW - timedelta(days=1)).complete(record(), NOW, NOW - timedelta(minutes=5)).task
    again = done.complete(record(), NOW + timedelta(hours=1), NOW - timedelta(minutes=5))
    assert not again.changed and again.note == "already done" and again.task == done
    with pytest.raises(CompletionTimeInvalid):
        done.complete(record(), NOW, NOW + timedelta(days=1))


@given(created=st.integers(0, 10_000), done=st.integers(-20_000, 20_000))
def test_completion_time_lies_between_when_the_work_arose_and_now(created: int, done: int):
    t = task(due=NOW + timedelta(days=1), created=NOW - timedelta(minutes=created))
    done_at = NOW + timedelta(minutes=done)
    if t.created_at <= done_at <= NOW:
        assert t.complete(record(), NOW, done_at).task.completed_at == done_at
    else:
        with pytest.raises(CompletionTimeInvalid):
            t.complete(record(), NOW, done_at)
