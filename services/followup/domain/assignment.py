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
from dataclasses import dataclass
from enum import StrEnum

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


class OwnerBasis(StrEnum):
    """Why the customer's owner (客户归属) is who it is (the `basis` of `customer-assigned`)."""

    NAMED = "named"  # the consultant named when the customer came in (说明指定销售顾问)
    LOAD = "load"  # nobody named: the least-loaded active consultant
    DEAL = "deal"  # nobody owned the customer when a consultant recorded a deal with them
    REASSIGNED = "reassigned"  # a manager moved the customer
    HANDED_OVER = "handed_over"  # the owner left the roster
    MERGED = "merged"  # the customer was merged into another: the survivor's owner

    @property
    def provisional(self) -> bool:
        """Chosen before the contact that created the customer was seen (its event may arrive
        after a complaint's or a deal's): that contact's named consultant still takes over."""
        return self in (OwnerBasis.LOAD, OwnerBasis.DEAL)


@dataclass(frozen=True)
class Ownership:
    owner_id: str | None = None
    basis: OwnerBasis | None = None


BY_LOAD = Ownership(basis=OwnerBasis.LOAD)  # "give the customer to the least-loaded consultant"


def owner_on_contact(current: Ownership, named: str | None, new_customer: bool) -> Ownership | None:
    """Domain §8: a new customer belongs to the consultant named at intake, else the least loaded;
    a later contact naming somebody else is that consultant's contact and moves nothing.

    `named` is an active roster member or None. Returns the new ownership (`BY_LOAD`: choose
    by load) or None to keep the current one."""
    if current.owner_id is not None:
        takes_over = named is not None and new_customer and current.basis is not None and current.basis.provisional
        return Ownership(named, OwnerBasis.NAMED) if takes_over else None
    return Ownership(named, OwnerBasis.NAMED) if named else BY_LOAD


def owner_when_needed(current: Ownership, consultant: str | None = None) -> Ownership | None:
    """Work arrives for a customer (a complaint, a decline, a deal): an unowned customer gets the
    deal's consultant, else the least loaded. None: keep the current owner."""
    if current.owner_id is not None:
        return None
    return Ownership(consultant, OwnerBasis.DEAL) if consultant else BY_LOAD
