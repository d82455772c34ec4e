"""Owner choice and reassignment."""
import uuid
from datetime import timedelta

import pytest

from services.followup.domain import (
    NoConsultantAvailable,
    TaskKind,
    least_loaded,
    reassign_customer,
    redistribute,
    workload,
)

from .factories import CUSTOMER, NOW, OTHER_CUSTOMER, record, task


def test_least_loaded_with_deterministic_ties():
    assert least_loaded(["carol", "bob", "alice"], {"alice": 2, "bob": 1, "carol": 1}) == "bob"
    assert least_loaded(["carol", "bob"], {}) == "bob"
    assert least_loaded(["zed"], {}) == "zed"


def test_nobody_to_assign():
    with pytest.raises(NoConsultantAvailable):
        least_loaded([], {})


def test_workload_counts_pending_tasks_only():
    tasks = [task(owner="alice", key="1"), task(owner="alice", key="2"), task(owner="bob", key="3"),
             task(owner="bob", key="4").complete(record(), NOW).task,
             task(owner="bob", key="5").mark_overdue(NOW + timedelta(days=1)).task]
    assert workload(tasks) == {"alice": 2, "bob": 2}


def test_reassignment_moves_open_work_and_keeps_history():
    open_ = task(TaskKind.CADENCE, owner="alice", key="o")
    overdue = task(TaskKind.BIRTHDAY_CARE, owner="alice", key="l").mark_overdue(NOW + timedelta(days=1)).task
    done = task(TaskKind.FIRST_CONTACT, owner="alice", key="d").complete(record(), NOW).task
    service = task(TaskKind.COMPLAINT_SURVEY, owner="svc", key="s")
    other = task(TaskKind.CADENCE, owner="alice", key="x", customer=OTHER_CUSTOMER)
    tasks = [open_, overdue, done, service, other]
    moved = reassign_customer(tasks, CUSTOMER, "bob", from_owner="alice")
    assert {c.task.task_id for c in moved} == {open_.task_id, overdue.task_id}
    assert all(c.task.owner_id == "bob" for c in moved)
    assert {c.task.task_id for c in reassign_customer(tasks, CUSTOMER, "bob")} == {
        open_.task_id, overdue.task_id, service.task_id}


def test_redistribute_a_leaving_consultant_customer_by_customer():
    c3 = uuid.UUID(int=3)
    tasks = [task(owner="leaver", customer=CUSTOMER, due=NOW + timedelta(days=1), key="a1"),
             task(owner="leaver", customer=CUSTOMER, due=NOW + timedelta(days=5), key="a2"),
             task(owner="leaver", customer=OTHER_CUSTOMER, due=NOW + timedelta(days=2), key="b1"),
             task(owner="leaver", customer=c3, due=NOW + timedelta(days=3), key="c1"),
             task(owner="bob", customer=c3, due=NOW, key="bob1")]
    owners = {}
    for change in redistribute(tasks, "leaver", ["alice", "bob", "leaver"]):
        owners.setdefault(change.task.customer_id, set()).add(change.task.owner_id)
    # CUSTOMER first (earliest due): alice (0) vs bob (1) -> alice gets 2 tasks; then OTHER: bob (1) < alice (2)
    assert owners == {CUSTOMER: {"alice"}, OTHER_CUSTOMER: {"bob"}, c3: {"alice"}}
