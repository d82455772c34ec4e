"""The one rule for who sees personal data unmasked (shared.access)."""
import pytest

from shared.access import in_reach, sees_personal_data
from shared.auth import Principal
from shared.events.enums import Role

HEAD = Principal("head", Role.MANAGER)
NORTH = Principal("m-north", Role.MANAGER, team="north")
ALICE = Principal("alice", Role.CONSULTANT, consultant_id="c-alice")


@pytest.mark.parametrize("principal,owner,team,sees", [
    (HEAD, "c-bob", "south", True),          # a manager without a team: head of sales, every customer
    (HEAD, None, None, True),
    (NORTH, "c-bob", "north", True),         # a team manager: their team's customers
    (NORTH, "c-bob", "south", False),
    (NORTH, None, None, False),              # nobody's customer is not in a team's reach
    (ALICE, "c-alice", "north", True),       # a consultant: their own
    (ALICE, "c-bob", "north", False),
    (ALICE, None, None, False),
    (Principal("ops", Role.OPS), "c-alice", "north", False),
    (Principal("crm-web", Role.INTEGRATION), "c-alice", "north", False),
])
def test_who_sees_personal_data(principal, owner, team, sees):
    assert sees_personal_data(principal, owner, team) is sees


def test_only_managers_have_a_reach():
    assert in_reach(NORTH, "north") and not in_reach(NORTH, "south") and in_reach(HEAD, "anything")
    assert not in_reach(ALICE, "north")
