"""Cadence by grade, and the cadence moving with the grade."""
from datetime import timedelta

import pytest

from shared.events.enums import IntentGrade

from services.followup.domain import (
    ProspectStatus,
    TaskKind,
    TaskStatus,
    cadence_task,
    next_cadence_due,
    plan_after_follow_up,
    reschedule_on_grade_change,
)
from services.followup.domain.tasks import DeliveryStep

from .factories import CUSTOMER, NOW, OTHER_CUSTOMER, POLICY, record, task

DAY = timedelta(days=1)


@pytest.mark.parametrize(("grade", "days"), [(IntentGrade.H, 2), (IntentGrade.A, 7), (IntentGrade.B, 15),
                                             (IntentGrade.C, 30)])
def test_next_due_is_one_interval_after_the_last_contact(grade, days):
    assert next_cadence_due(grade, NOW, NOW, POLICY) == NOW + days * DAY


def test_grade_o_has_no_cadence():
    assert next_cadence_due(IntentGrade.O, NOW, NOW, POLICY) is None
    with pytest.raises(ValueError):
        cadence_task(customer_id=CUSTOMER, owner_id="alice", grade=IntentGrade.O, due_at=NOW, now=NOW)


def test_never_contacted_counts_from_now_and_late_cadence_starts_now():
    assert next_cadence_due(IntentGrade.A, None, NOW, POLICY) == NOW + 7 * DAY
    assert next_cadence_due(IntentGrade.H, NOW - 10 * DAY, NOW, POLICY) == NOW


def test_an_earlier_requested_next_contact_wins_a_later_one_does_not():
    assert next_cadence_due(IntentGrade.C, NOW, NOW, POLICY, requested_at=NOW + 3 * DAY) == NOW + 3 * DAY
    assert next_cadence_due(IntentGrade.H, NOW, NOW, POLICY, requested_at=NOW + 9 * DAY) == NOW + 2 * DAY


def plan(open_tasks, grade, **kw):
    kw.setdefault("last_contact_at", NOW)
    return reschedule_on_grade_change(open_tasks, grade, NOW, POLICY, customer_id=CUSTOMER, owner_id="alice", **kw)


def test_first_grade_creates_one_cadence_task():
    p = plan([], IntentGrade.B)
    assert not p.cancel and not p.move
    (created,) = p.create
    assert (created.kind, created.grade, created.due_at) == (TaskKind.CADENCE, IntentGrade.B, NOW + 15 * DAY)


def test_upgrade_moves_the_pending_cadence_task_earlier():
    c_task = task(TaskKind.CADENCE, grade=IntentGrade.C, due=NOW + 25 * DAY)
    p = plan([c_task], IntentGrade.H, previous_grade=IntentGrade.C)
    (moved,) = p.move
    assert moved.task.task_id == c_task.task_id
    assert (moved.task.due_at, moved.task.grade) == (NOW + 2 * DAY, IntentGrade.H)
    assert not p.create and not p.cancel


def test_downgrade_moves_it_later():
    h_task = task(TaskKind.CADENCE, grade=IntentGrade.H, due=NOW + DAY)
    (moved,) = plan([h_task], IntentGrade.C, previous_grade=IntentGrade.H).move
    assert moved.task.due_at == NOW + 30 * DAY


def test_duplicate_cadence_tasks_are_cancelled():
    a = task(TaskKind.CADENCE, due=NOW + DAY)
    b = task(TaskKind.CADENCE, due=NOW + 2 * DAY)
    p = plan([b, a], IntentGrade.A)
    assert [c.task.task_id for c in p.cancel] == [b.task_id]
    assert p.move[0].task.task_id == a.task_id


def test_order_replaces_cadence_with_delivery_steps():
    cadence = task(TaskKind.CADENCE, grade=IntentGrade.H, due=NOW + DAY)
    p = plan([cadence], IntentGrade.O, previous_grade=IntentGrade.H)
    assert [c.task.task_id for c in p.cancel] == [cadence.task_id]
    assert [t.step for t in p.create] == list(DeliveryStep)
    assert [t.due_at for t in p.create] == [NOW + i * DAY for i in range(1, 6)]
    assert all(t.kind == TaskKind.DELIVERY and not t.marketing and t.grade == IntentGrade.O for t in p.create)


def test_staying_o_creates_no_new_delivery_steps():
    assert plan([], IntentGrade.O, previous_grade=IntentGrade.O).is_empty


def test_leaving_o_cancels_delivery_steps_and_restarts_cadence():
    steps = plan([], IntentGrade.O, previous_grade=IntentGrade.H).create
    p = plan(list(steps), IntentGrade.H, previous_grade=IntentGrade.O)
    assert len(p.cancel) == len(steps) and len(p.create) == 1


@pytest.mark.parametrize("status", [ProspectStatus.LOST, ProspectStatus.CLOSED])
def test_lost_or_closed_prospects_get_no_cadence(status):
    cadence = task(TaskKind.CADENCE, due=NOW + DAY)
    delivery = task(TaskKind.DELIVERY, due=NOW + DAY)
    p = plan([cadence, delivery], IntentGrade.A, status=status)
    assert not p.create and not p.move
    cancelled = {c.task.kind for c in p.cancel}
    assert cancelled == ({TaskKind.CADENCE, TaskKind.DELIVERY} if status == ProspectStatus.LOST
                         else {TaskKind.CADENCE})


def test_refused_consent_gets_no_cadence_but_keeps_delivery():
    cadence = task(TaskKind.CADENCE, due=NOW + DAY)
    assert [c.task.task_id for c in plan([cadence], IntentGrade.A, marketing_allowed=False).cancel] == [
        cadence.task_id]
    assert not plan([], IntentGrade.A, marketing_allowed=False).create
    assert len(plan([], IntentGrade.O, marketing_allowed=False).create) == 5


def test_other_customers_and_closed_tasks_are_ignored():
    other = task(TaskKind.CADENCE, customer=OTHER_CUSTOMER, due=NOW + DAY)
    done = task(TaskKind.CADENCE, due=NOW - DAY).complete(record(), NOW).task
    p = plan([other, done], IntentGrade.A)
    assert not p.cancel and not p.move and len(p.create) == 1


@pytest.mark.parametrize(("start", "new", "previous"), [
    ([], IntentGrade.A, None), ([], IntentGrade.O, IntentGrade.A),
    ("cadence", IntentGrade.H, IntentGrade.C), ("cadence", IntentGrade.O, IntentGrade.C),
])
def test_plans_are_idempotent(start, new, previous):
    tasks = [] if start == [] else [task(TaskKind.CADENCE, grade=IntentGrade.C, due=NOW + 20 * DAY),
                                    task(TaskKind.CADENCE, grade=IntentGrade.C, due=NOW + 21 * DAY)]
    first = plan(tasks, new, previous_grade=previous)
    assert not first.is_empty
    assert plan(first.apply(tasks), new, previous_grade=previous).is_empty


def test_after_a_follow_up_the_next_cadence_is_scheduled():
    done = task(TaskKind.CADENCE, grade=IntentGrade.A, due=NOW).complete(record(), NOW).task
    (nxt,) = plan_after_follow_up(done, [done], IntentGrade.A, NOW, POLICY).create
    assert (nxt.due_at, nxt.owner_id, nxt.cause_id) == (NOW + 7 * DAY, "alice", done.task_id)
    asked = task(TaskKind.CADENCE, grade=IntentGrade.A, due=NOW).complete(
        record(next_contact_at=NOW + 2 * DAY), NOW).task
    assert plan_after_follow_up(asked, [], IntentGrade.A, NOW, POLICY).create[0].due_at == NOW + 2 * DAY


def test_after_a_follow_up_a_pending_cadence_is_moved_not_doubled():
    done = task(TaskKind.CADENCE, grade=IntentGrade.A, due=NOW).complete(record(), NOW).task
    pending = task(TaskKind.CADENCE, grade=IntentGrade.A, due=NOW + 30 * DAY)
    p = plan_after_follow_up(done, [done, pending], IntentGrade.A, NOW, POLICY)
    assert not p.create and p.move[0].task.due_at == NOW + 7 * DAY


def test_no_next_cadence_for_o_lost_refused_or_non_prospect_work():
    done = task(TaskKind.CADENCE, due=NOW).complete(record(), NOW).task
    assert plan_after_follow_up(done, [], IntentGrade.O, NOW, POLICY).is_empty
    assert plan_after_follow_up(done, [], IntentGrade.A, NOW, POLICY, status=ProspectStatus.LOST).is_empty
    assert plan_after_follow_up(done, [], IntentGrade.A, NOW, POLICY, marketing_allowed=False).is_empty
    survey = task(TaskKind.COMPLAINT_SURVEY, due=NOW).complete(record(), NOW).task
    assert plan_after_follow_up(survey, [], IntentGrade.A, NOW, POLICY).is_empty
    assert plan_after_follow_up(task(TaskKind.CADENCE), [], IntentGrade.A, NOW, POLICY).is_empty  # not done
    assert done.status == TaskStatus.DONE
