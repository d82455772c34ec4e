"""The one access policy (shared.access): the relation of a caller to a customer, and what the
policy allows in each relation."""
import pytest

from shared.access import (
    POLICY,
    Action,
    Owner,
    Relation,
    allows,
    check,
    in_reach,
    relation_of,
    roles_for,
    sees_personal_data,
)
from shared.auth import Principal
from shared.errors import Forbidden
from shared.events.enums import Role

HEAD = Principal("head", Role.MANAGER)
NORTH = Principal("m-north", Role.MANAGER, team="north")
ALICE = Principal("alice", Role.CONSULTANT, consultant_id="c-alice")
OPS = Principal("ops", Role.OPS)
SYSTEM = Principal("crm-web", Role.INTEGRATION)


@pytest.mark.parametrize("principal,owner,own_team,relation", [
    (HEAD, Owner("c-bob", "south"), None, Relation.SAME_TEAM),  # a head of sales reaches every team
    (HEAD, Owner(None), None, Relation.UNOWNED),
    (NORTH, Owner("c-bob", "north"), None, Relation.SAME_TEAM),
    (NORTH, Owner("c-bob", "south"), None, Relation.OTHER_TEAM),
    (NORTH, Owner("c-bob", None), None, Relation.OTHER_TEAM),  # a consultant in no team is in nobody's reach
    (ALICE, Owner("c-alice", "north"), "north", Relation.OWNER),
    (ALICE, Owner("c-bob", "north"), "north", Relation.SAME_TEAM),
    (ALICE, Owner("c-bob", "south"), "north", Relation.OTHER_TEAM),
    (ALICE, Owner("c-bob", None), None, Relation.OTHER_TEAM),
    (ALICE, Owner(None), "north", Relation.UNOWNED),
    (OPS, Owner("c-alice", "north"), None, Relation.OTHER_TEAM),
    (SYSTEM, Owner(None), None, Relation.UNOWNED),
])
def test_the_relation_to_a_customer(principal, owner, own_team, relation):
    assert relation_of(principal, owner, own_team) is relation


@pytest.mark.parametrize("principal,relation,sees", [
    (HEAD, Relation.SAME_TEAM, True), (HEAD, Relation.UNOWNED, True),
    (NORTH, Relation.SAME_TEAM, True), (NORTH, Relation.OTHER_TEAM, False), (NORTH, Relation.UNOWNED, True),
    (ALICE, Relation.OWNER, True), (ALICE, Relation.SAME_TEAM, False), (ALICE, Relation.UNOWNED, False),
    (OPS, Relation.OTHER_TEAM, False), (OPS, Relation.UNOWNED, False),
    (SYSTEM, Relation.OTHER_TEAM, False), (SYSTEM, Relation.UNOWNED, False),
])
def test_who_sees_personal_data(principal, relation, sees):
    assert sees_personal_data(principal, relation) is sees


def test_every_write_that_touches_personal_data_needs_the_right_to_see_it():
    """Nobody may change what they may not see (a write's answer or error would show it)."""
    for action in (Action.CHANGE_CARD, Action.SET_CARE):
        for role, relations in POLICY[action].items():
            assert relations <= POLICY[Action.VIEW_PERSONAL].get(role, frozenset()), (action, role)


def test_a_refusal_names_the_field_and_a_role_refusal_says_so():
    with pytest.raises(Forbidden) as refused:
        check(ALICE, Action.CHANGE_CARD, Relation.SAME_TEAM, field="customer_id")
    assert refused.value.field == "customer_id" and refused.value.status_code == 403
    with pytest.raises(Forbidden) as refused:
        check(OPS, Action.CHANGE_CARD, Relation.OTHER_TEAM)
    assert "role ops may not do this" in refused.value.message
    check(NORTH, Action.REASSIGN, Relation.UNOWNED)


def test_every_action_has_a_role_and_routes_require_exactly_those_roles():
    for action in Action:
        assert roles_for(action), action
        assert all(allows(Principal("p", role), action, relation)
                   for role, relations in POLICY[action].items() for relation in relations)


def test_only_managers_have_a_reach():
    assert in_reach(NORTH, "north") and not in_reach(NORTH, "south") and in_reach(HEAD, "anything")
    assert not in_reach(ALICE, "north")
