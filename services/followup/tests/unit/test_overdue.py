"""The periodic overdue check: only actions not yet taken; idempotent across restarts."""
import uuid
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events.enums import ComplaintSeverity

from services.followup.domain import (
    EscalateComplaint,
    EscalateTask,
    MarkTaskOverdue,
    TaskStatus,
    acknowledge,
    apply_actions,
    file_complaint,
    overdue_work,
    periodic_check,
)
from services.followup.domain.tasks import TaskKind

from .factories import CUSTOMER, NOW, POLICY, at, record, task

H = timedelta(hours=1)


def test_late_task_is_marked_overdue_then_escalated_after_24_hours():
    t = task(due=NOW)
    assert periodic_check([t], [], NOW, POLICY) == []
    (mark,) = periodic_check([t], [], NOW + H, POLICY)
    assert isinstance(mark, MarkTaskOverdue) and mark.task_id == t.task_id
    tasks, _ = apply_actions([t], [], [mark], NOW + H)
    assert tasks[0].status == TaskStatus.OVERDUE
    assert periodic_check(tasks, [], NOW + 24 * H, POLICY) == []  # exactly 24h late: not yet
    (esc,) = periodic_check(tasks, [], NOW + 24 * H + timedelta(seconds=1), POLICY)
    assert isinstance(esc, EscalateTask) and esc.owner_id == "alice" and esc.late_by > 24 * H
    tasks, _ = apply_actions(tasks, [], [esc], NOW + 25 * H)
    assert periodic_check(tasks, [], NOW + 100 * H, POLICY) == []  # escalated once


def test_a_check_after_a_long_outage_does_both_at_once():
    t = task(due=NOW)
    actions = periodic_check([t], [], NOW + 48 * H, POLICY)
    assert [type(a) for a in actions] == [MarkTaskOverdue, EscalateTask]
    tasks, _ = apply_actions([t], [], actions, NOW + 48 * H)
    assert (tasks[0].status, tasks[0].escalated_at) == (TaskStatus.OVERDUE, NOW + 48 * H)


def test_done_and_cancelled_tasks_are_left_alone():
    done = task(due=NOW, key="d").complete(record(), NOW + 30 * H).task
    cancelled = task(due=NOW, key="c").cancel("merged", NOW).task
    assert periodic_check([done, cancelled], [], NOW + 100 * H, POLICY) == []


def test_escalation_threshold_is_configurable():
    quick = POLICY.model_copy(update={"escalate_after_hours": 4})
    actions = periodic_check([task(due=NOW)], [], NOW + 5 * H, quick)
    assert [type(a) for a in actions] == [MarkTaskOverdue, EscalateTask]


def test_complaint_breach_is_escalated_once_by_the_periodic_check():
    case = file_complaint(complaint_id=uuid.UUID(int=1), customer_id=CUSTOMER, severity=ComplaintSeverity.LOW,
                          owner_id="svc", filed_at=at(2024, 6, 7, 17), policy=POLICY)
    now = at(2024, 6, 10, 12, 30)
    (esc,) = periodic_check([], [case], now, POLICY)
    assert isinstance(esc, EscalateComplaint) and esc.deadline == "acknowledge"
    _, cases = apply_actions([], [case], [esc], now)
    assert periodic_check([], cases, now + H, POLICY) == []
    acked = acknowledge(cases[0], by="svc", now=now + H)
    assert periodic_check([], [acked], now + 2 * H, POLICY) == []


def test_overdue_list_is_most_late_first():
    a, b = task(due=NOW, key="a"), task(due=NOW - 5 * H, key="b")
    c = task(due=NOW + 5 * H, key="c")
    assert [t.key for t in overdue_work([a, b, c], NOW + H)] == ["b", "a"]


# -- property: the check is idempotent once its actions are applied ------------

offsets = st.integers(min_value=-72, max_value=72).map(lambda h: timedelta(hours=h))
task_specs = st.lists(st.tuples(offsets, st.sampled_from(["open", "done", "cancelled", "overdue", "escalated"]),
                                st.sampled_from(list(TaskKind))), max_size=12)
case_specs = st.lists(st.tuples(st.integers(-200, 10).map(lambda h: timedelta(hours=h)),
                                st.sampled_from(list(ComplaintSeverity)), st.booleans()), max_size=4)


def build(task_spec, case_spec):
    tasks = []
    for i, (offset, state, kind) in enumerate(task_spec):
        t = task(kind, due=NOW + offset, key=f"t{i}", created=NOW - 100 * H)
        if state == "done":
            t = t.complete(record(), NOW - 99 * H).task
        elif state == "cancelled":
            t = t.cancel("test", NOW - 99 * H).task
        elif state in ("overdue", "escalated") and offset < timedelta(0):
            t = t.mark_overdue(NOW).task
            if state == "escalated":
                t = t.mark_escalated(NOW).task
        tasks.append(t)
    cases = []
    for i, (offset, severity, acked) in enumerate(case_spec):
        c = file_complaint(complaint_id=uuid.UUID(int=i + 1), customer_id=CUSTOMER, severity=severity, owner_id="svc",
                           filed_at=NOW + offset, policy=POLICY)
        if acked and c.filed_at <= NOW:
            c = acknowledge(c, by="svc", now=c.filed_at)
        cases.append(c)
    return tasks, cases


@settings(max_examples=150)
@given(task_spec=task_specs, case_spec=case_specs, later=st.integers(0, 96).map(lambda h: timedelta(hours=h)))
def test_periodic_check_is_idempotent(task_spec, case_spec, later):
    tasks, cases = build(task_spec, case_spec)
    now = NOW + later
    actions = periodic_check(tasks, cases, now, POLICY)
    tasks2, cases2 = apply_actions(tasks, cases, actions, now)
    assert periodic_check(tasks2, cases2, now, POLICY) == []  # a restart at the same moment does nothing again
    # every action changed something (no empty work), and no action is listed twice
    keys = [(type(a).__name__, getattr(a, "task_id", None), getattr(a, "complaint_id", None),
             getattr(a, "deadline", None)) for a in actions]
    assert len(keys) == len(set(keys))
    assert (tasks2, cases2) != (tasks, cases) or not actions
    # applying the same actions twice is the same as applying them once
    assert apply_actions(tasks2, cases2, actions, now) == (tasks2, cases2)
    # a later check never repeats an escalation already taken
    escalated = {a.task_id for a in actions if isinstance(a, EscalateTask)}
    for a in periodic_check(tasks2, cases2, now + 1000 * H, POLICY):
        assert not (isinstance(a, EscalateTask) and a.task_id in escalated)
