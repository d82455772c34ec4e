"""Who may see or do what (客户信息的保密性): one policy for every service, writes as reads.

A route states the action it performs (`Action`); the caller's role and relation to the
customer (`Relation`, worked out from the owner that follow-up decided, see
shared.runtime.ownership) decide, here and nowhere else. Pure: no I/O.

Relations:
- owner: a consultant acting on a customer (or a work item) they own;
- same_team: the owner is in the caller's team. A manager whose token names a team reaches
  that team; a manager without a team (head of sales) reaches every team;
- other_team: somebody outside the caller's reach owns it;
- unowned: nobody owns it (yet): follow-up has not assigned it, or the roster is empty.

Company systems (integration) and operations act on behalf of nobody: they have no owner or
team relation, so an action they may take is open to them whatever the relation.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from .errors import Forbidden
from .events.enums import Role

if TYPE_CHECKING:
    from .auth import Principal


class Relation(StrEnum):
    OWNER = "owner"
    SAME_TEAM = "same_team"
    OTHER_TEAM = "other_team"
    UNOWNED = "unowned"


class Action(StrEnum):
    """What a route does to a customer (or to a work item of one)."""

    READ = "read"  # the customer's records, personal data masked unless VIEW_PERSONAL
    VIEW_PERSONAL = "view_personal"  # personal data unmasked (and audited)
    LOOK_UP = "look_up"  # find a customer by phone or email (rate-limited, audited)
    RECORD_CONTACT = "record_contact"  # a contact; a consultant's contact names themselves
    NAME_CONSULTANT = "name_consultant"  # name another consultant on a contact
    CHANGE_CARD = "change_card"  # the customer information card (客户信息卡)
    CHANGE_CONSENT = "change_consent"
    MERGE = "merge"
    ERASE = "erase"
    FILE_COMPLAINT = "file_complaint"
    HANDLE_COMPLAINT = "handle_complaint"  # acknowledge, resolve, survey: relation to the case's owner
    SEE_WORK = "see_work"  # tasks, complaint cases: relation to the item's owner
    WORK_TASK = "work_task"  # complete a task: relation to the task's owner
    PROPOSE_LOSS = "propose_loss"  # 战败申请
    DECIDE_LOSS = "decide_loss"  # 战败审批
    OVERRIDE_GRADE = "override_grade"
    RECORD_DEAL = "record_deal"
    RECORD_PAYMENT = "record_payment"
    SET_CARE = "set_care"  # the birthday for care (personal data)
    REASSIGN = "reassign"  # move a customer to another consultant
    KEEP_ROSTER = "keep_roster"  # add, move, deactivate, remove a consultant: relation to their team
    REPORT = "report"  # reports: relation to the consultant reported on


SYS, CON, MGR, OPS = Role.INTEGRATION, Role.CONSULTANT, Role.MANAGER, Role.OPS
ANY = frozenset(Relation)
OWN = frozenset({Relation.OWNER})
REACH = frozenset({Relation.SAME_TEAM, Relation.UNOWNED})  # a manager's reach
OWN_OR_FREE = frozenset({Relation.OWNER, Relation.UNOWNED})

# Action -> role -> the relations in which that role may act. A role absent from an action's
# row may not take it at all (403 naming the role); a relation absent from the role's set is
# refused (403 naming the field that points at the customer or work item).
POLICY: dict[Action, dict[Role, frozenset[Relation]]] = {
    Action.READ: {SYS: ANY, CON: ANY, MGR: ANY, OPS: ANY},
    Action.VIEW_PERSONAL: {CON: OWN, MGR: REACH},
    Action.LOOK_UP: {SYS: ANY, CON: ANY, MGR: ANY, OPS: ANY},
    Action.RECORD_CONTACT: {SYS: ANY, CON: ANY, MGR: ANY},
    Action.NAME_CONSULTANT: {SYS: ANY, MGR: ANY},
    Action.CHANGE_CARD: {CON: OWN, MGR: REACH},
    Action.CHANGE_CONSENT: {SYS: ANY, CON: OWN, MGR: REACH},
    Action.MERGE: {MGR: REACH},
    Action.ERASE: {MGR: REACH, OPS: ANY},
    Action.FILE_COMPLAINT: {SYS: ANY, CON: ANY, MGR: ANY},
    Action.HANDLE_COMPLAINT: {SYS: ANY, CON: OWN, MGR: REACH},
    Action.SEE_WORK: {CON: OWN, MGR: REACH, OPS: ANY},
    Action.WORK_TASK: {CON: OWN, MGR: REACH},
    Action.PROPOSE_LOSS: {CON: OWN, MGR: REACH},
    Action.DECIDE_LOSS: {MGR: REACH},
    Action.OVERRIDE_GRADE: {CON: OWN, MGR: REACH},
    Action.RECORD_DEAL: {SYS: ANY, CON: OWN_OR_FREE, MGR: REACH},
    Action.RECORD_PAYMENT: {SYS: ANY, CON: OWN, MGR: REACH},
    Action.SET_CARE: {CON: OWN, MGR: REACH},
    Action.REASSIGN: {MGR: REACH},
    Action.KEEP_ROSTER: {MGR: REACH},
    Action.REPORT: {CON: OWN, MGR: REACH, OPS: ANY},
}


def own_consultant_id(principal: Principal) -> str:
    """The consultant a person's token speaks for (its consultant_id, else its subject)."""
    return principal.consultant_id or principal.subject


@dataclass(frozen=True)
class Owner:
    """Who owns a customer or a work item, and that consultant's team (None: unknown)."""

    owner_id: str | None
    team: str | None = None


def relation_of(principal: Principal, owner: Owner, own_team: str | None = None) -> Relation:
    """The caller's relation to what `owner` owns. `own_team`: a consultant caller's team."""
    if owner.owner_id is None:
        return Relation.UNOWNED
    if principal.role is Role.CONSULTANT:
        if owner.owner_id == own_consultant_id(principal):
            return Relation.OWNER
        return Relation.SAME_TEAM if own_team is not None and own_team == owner.team else Relation.OTHER_TEAM
    if principal.role is Role.MANAGER and (principal.team is None or principal.team == owner.team):
        return Relation.SAME_TEAM
    return Relation.OTHER_TEAM


def roles_for(action: Action) -> tuple[Role, ...]:
    """The roles that may take `action` in some relation (what a route requires)."""
    return tuple(POLICY[action])


def allows(principal: Principal, action: Action, relation: Relation) -> bool:
    return relation in POLICY[action].get(principal.role, frozenset())


def check_role(principal: Principal, action: Action, *, field: str, location: str = "body") -> None:
    """Forbidden (403 naming `field`) unless the caller's role may take `action` at all: for actions
    on no customer (naming a consultant on a contact or a deal)."""
    if principal.role not in POLICY[action]:
        raise Forbidden(f"role {principal.role.value} may not do this", field=field, location=location)


def check(principal: Principal, action: Action, relation: Relation, *, field: str = "customer_id",
          location: str = "path") -> None:
    """Forbidden (403 naming `field`) unless the policy allows the action in this relation."""
    if principal.role not in POLICY[action]:
        raise Forbidden(f"role {principal.role.value} may not do this", field=field, location=location)
    if not allows(principal, action, relation):
        raise Forbidden(f"a {principal.role.value} may not {action.value.replace('_', ' ')} where they are "
                        f"{relation.value.replace('_', ' ')}", field=field, location=location)


def sees_personal_data(principal: Principal, relation: Relation) -> bool:
    return allows(principal, Action.VIEW_PERSONAL, relation)


def in_reach(principal: Principal, team: str | None) -> bool:
    """Is a consultant of `team` within this manager's reach (their team, or every team without one)?"""
    return principal.role is Role.MANAGER and (principal.team is None or principal.team == team)


RELATION_WORDS = {Relation.OWNER: "owner", Relation.SAME_TEAM: "same team", Relation.OTHER_TEAM: "other team",
                  Relation.UNOWNED: "unowned"}


def policy_table() -> str:
    """POLICY as the Markdown table docs/privacy.md shows (a test keeps the two the same)."""
    roles = list(Role)
    lines = ["| action | " + " | ".join(r.value for r in roles) + " |",
             "|---|" + "---|" * len(roles)]
    for action in Action:
        cells = []
        for role in roles:
            relations = POLICY[action].get(role)
            if relations is None:
                cells.append("—")
            elif relations == ANY:
                cells.append("any")
            else:
                cells.append(", ".join(RELATION_WORDS[r] for r in Relation if r in relations))
        lines.append(f"| {action.value.replace('_', ' ')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
