"""Property: a cadence plan, once applied, leaves nothing more to do; at most one cadence task stays pending."""
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events.enums import IntentGrade

from services.followup.domain import ProspectStatus, TaskKind, reschedule_on_grade_change

from .factories import CUSTOMER, NOW, POLICY, task

grades = st.sampled_from(list(IntentGrade))
hours = st.integers(-500, 1000).map(lambda h: timedelta(hours=h))
existing = st.lists(st.tuples(st.sampled_from([TaskKind.CADENCE, TaskKind.DELIVERY, TaskKind.BIRTHDAY_CARE]),
                              hours, grades), max_size=6)


@settings(max_examples=200)
@given(spec=existing, new=grades, previous=st.none() | grades, last=st.none() | hours,
       status=st.sampled_from(list(ProspectStatus)), allowed=st.booleans())
def test_plan_apply_plan_is_empty(spec, new, previous, last, status, allowed):
    tasks = [task(kind, due=NOW + off, key=f"k{i}", created=NOW - timedelta(days=60),
                  grade=(g if g != IntentGrade.O else IntentGrade.A) if kind == TaskKind.CADENCE else None)
             for i, (kind, off, g) in enumerate(spec)]

    def plan(ts):
        return reschedule_on_grade_change(ts, new, NOW, POLICY, customer_id=CUSTOMER, owner_id="alice",
                                          last_contact_at=None if last is None else NOW + last,
                                          previous_grade=previous, status=status, marketing_allowed=allowed)

    after = plan(tasks).apply(tasks)
    assert plan(after).is_empty
    pending_cadence = [t for t in after if t.kind == TaskKind.CADENCE and t.is_pending]
    expected = 1 if status == ProspectStatus.ACTIVE and new != IntentGrade.O and allowed else 0
    assert len(pending_cadence) == expected
    assert all(t.due_at >= NOW and t.grade == new for t in pending_cadence)
    if status == ProspectStatus.ACTIVE and new != IntentGrade.O:
        assert not [t for t in after if t.kind == TaskKind.DELIVERY and t.is_pending]
    # care work is never touched by the cadence
    assert [t for t in after if t.kind == TaskKind.BIRTHDAY_CARE] == [
        t for t in tasks if t.kind == TaskKind.BIRTHDAY_CARE]
