"""Who owns the work (销售顾问分配): the consultant named at intake, else the least-loaded one.

Load is the number of pending (open or overdue) tasks a consultant owns; ties
go to the smallest consultant id, so the choice is deterministic. A manager can
reassign a customer: the customer's pending work moves, done work keeps the
owner who did it (the history stays with the customer).
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping

from .errors import NoConsultantAvailable
from .tasks import FollowUpTask, TaskChange


def workload(tasks: Iterable[FollowUpTask]) -> dict[str, int]:
    """Pending tasks per owner."""
    return dict(Counter(t.owner_id for t in tasks if t.is_pending))


def least_loaded(team: Iterable[str], loads: Mapping[str, int]) -> str:
    """The team member with the fewest pending tasks; ties by smallest id."""
    members = sorted(set(team))
    if not members:
        raise NoConsultantAvailable("the team has no consultant to assign")
    return min(members, key=lambda c: (loads.get(c, 0), c))


def choose_owner(named_consultant: str | None, team: Iterable[str], loads: Mapping[str, int]) -> str:
    """The consultant named at intake (说明指定销售顾问) if any and still on the team, else the least loaded.

    An empty `team` means the roster is unknown: a named consultant is then taken as is.
    """
    members = set(team)
    if named_consultant and (not members or named_consultant in members):
        return named_consultant
    return least_loaded(members, loads)


def reassign_customer(
    tasks: Iterable[FollowUpTask],
    customer_id: uuid.UUID,
    new_owner: str,
    from_owner: str | None = None,
) -> list[TaskChange]:
    """Move the customer's pending work (only `from_owner`'s, if given) to `new_owner`."""
    changes = [t.reassign(new_owner) for t in tasks
               if t.customer_id == customer_id and t.is_pending and (from_owner is None or t.owner_id == from_owner)]
    return [c for c in changes if c.changed]


def redistribute(tasks: Iterable[FollowUpTask], leaving: str, team: Iterable[str]) -> list[TaskChange]:
    """Hand a leaving consultant's pending work to the team, one customer at a time.

    Customers are taken by their earliest due task; each goes whole to the
    currently least-loaded remaining member, whose load then grows.
    """
    all_tasks = list(tasks)
    members = set(team) - {leaving}
    loads = Counter(workload(all_tasks))
    by_customer: dict[uuid.UUID, list[FollowUpTask]] = {}
    for t in all_tasks:
        if t.is_pending and t.owner_id == leaving:
            by_customer.setdefault(t.customer_id, []).append(t)
    order = sorted(by_customer, key=lambda cid: (min(t.due_at for t in by_customer[cid]), str(cid)))
    changes: list[TaskChange] = []
    for cid in order:
        owner = least_loaded(members, loads)
        moved = [t.reassign(owner) for t in by_customer[cid]]
        loads[owner] += len(moved)
        changes.extend(moved)
    return changes
