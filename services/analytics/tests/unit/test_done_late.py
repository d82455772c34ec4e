"""Whether done work was done late is follow-up's decision (`followup-logged` v2 `late`): the fold
writes what follow-up told; only a record logged before version 2, which did not tell, is judged
from the task's due time and the time it was done."""
import uuid
from datetime import UTC, datetime, timedelta

from services.analytics.domain.facts import child_rows
from services.analytics.domain.state import fold_customer
from shared.events.contract import FollowUpLogged, TaskScheduled
from shared.events.enums import ContactMethod, FollowUpOutcome
from shared.events.envelope import Envelope, new_event

CUSTOMER = uuid.UUID(int=7)
DUE = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def logged(done_at: datetime, late: bool | None, version: int = 2) -> list[Envelope]:
    task_id = uuid.uuid4()
    scheduled = new_event(TaskScheduled(task_id=task_id, kind="cadence", owner_id="c-007", due_at=DUE),
                          customer_id=CUSTOMER, producer="followup", occurred_at=DUE - timedelta(days=1))
    record = FollowUpLogged(task_id=task_id, kind="cadence", consultant_id="c-007", method=ContactMethod.PHONE,
                            outcome=FollowUpOutcome.REACHED, completed_at=done_at, late=late)
    done = new_event(record, customer_id=CUSTOMER, producer="followup", occurred_at=done_at)
    if version == 1:  # as a producer before version 2 wrote it
        payload = {k: v for k, v in done.payload.items() if k != "late"}
        done = done.model_copy(update={"schema_version": 1, "payload": payload})
    return [scheduled, done]


def late_column(events: list[Envelope]) -> bool | None:
    (task,) = child_rows(fold_customer(str(CUSTOMER), events))["fact_tasks"]
    return task[9]  # tables.CHILD_COLUMNS["fact_tasks"]: ..., done_by, late, data


def test_the_fold_writes_what_follow_up_told():
    assert late_column(logged(DUE - timedelta(hours=1), late=False)) is False
    assert late_column(logged(DUE + timedelta(hours=1), late=True)) is True
    # follow-up's word stands even where the two times would say otherwise: analytics does not judge again
    assert late_column(logged(DUE - timedelta(hours=1), late=True)) is True


def test_a_record_from_before_version_2_is_judged_from_its_times():
    assert late_column(logged(DUE + timedelta(hours=1), late=None, version=1)) is True
    assert late_column(logged(DUE - timedelta(hours=1), late=None, version=1)) is False
