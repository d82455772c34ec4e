"""Grading's published history in the fold (prospect-graded v2): the latest revision replaces the
earlier ones whatever order they sort in, a lost step has no grade, and the reports read it."""
import uuid
from datetime import UTC, datetime, timedelta

from services.analytics.domain.filters import Filters
from services.analytics.tests.reference.reports import run
from services.analytics.domain.state import fold_customer
from shared.events.contract import CustomerAssigned, GradeStep, ProspectGraded
from shared.events.envelope import new_event

T0 = datetime(2026, 5, 4, 2, tzinfo=UTC)
CID = uuid.UUID(int=42)


def graded(revision: int, steps: list[tuple], at: datetime, event: int):
    history = [GradeStep(grade=g, previous_grade=p, status=status, rule=rule, at=when)
               for p, g, status, rule, when in steps]
    current = [s for s in history if s.grade][-1]
    payload = ProspectGraded(grade=current.grade, previous_grade=current.previous_grade, rule=current.rule,
                             policy_version="t", history=history, revision=revision)
    return new_event(payload, customer_id=CID, producer="grading", occurred_at=at, event_id=uuid.UUID(int=event))


def test_the_latest_revision_wins_even_when_it_sorts_first():
    day1, day2 = T0, T0 + timedelta(days=1)
    first = graded(1, [(None, "O", "active", "deal", day2)], day2, event=900)  # the deal came first
    second = graded(2, [(None, "B", "active", "timeframe", day1), ("B", "O", "active", "deal", day2)], day2, event=1)
    owner = new_event(CustomerAssigned(owner_id="c-1", basis="named"), customer_id=CID, producer="followup",
                      occurred_at=day1)
    for events in ([first, second, owner], [second, first, owner]):
        s = fold_customer(str(CID), events)
        assert [(h["previous_grade"], h["grade"]) for h in s["grade_history"]] == [(None, "B"), ("B", "O")]
        assert s["grade"] == "O" and s["first_grade"] == {"grade": "B", "at": day1.isoformat(), "consultant_id": "c-1"}
    then = fold_customer(str(CID), [first, second, owner], as_of=day1 + timedelta(hours=1))
    assert then["grade_history"] == [] and then["grade"] is None  # nothing was published by then


def test_a_lost_step_has_no_grade_and_the_grade_reports_read_it():
    lost = graded(2, [(None, "A", "active", "timeframe", T0), ("A", None, "lost", "loss", T0 + timedelta(hours=5))],
                  T0 + timedelta(hours=5), event=7)
    s = fold_customer(str(CID), [lost])
    assert [h["status"] for h in s["grade_history"]] == ["active", "lost"] and s["grade"] == "A"
    report = run("grades", [s], [], Filters(now=T0 + timedelta(days=1)))
    assert report["movements"] == [] and report["upgrades"] == 0
