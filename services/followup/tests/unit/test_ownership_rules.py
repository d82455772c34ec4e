"""Who owns a customer (客户归属, domain §8): the pure rules follow-up applies."""
import pytest

from services.followup.domain import BY_LOAD, OwnerBasis, Ownership, owner_on_contact, owner_when_needed

NOBODY = Ownership()
NAMED_A = Ownership("c-a", OwnerBasis.NAMED)
LOAD_B = Ownership("c-b", OwnerBasis.LOAD)
DEAL_B = Ownership("c-b", OwnerBasis.DEAL)
MOVED_B = Ownership("c-b", OwnerBasis.REASSIGNED)


@pytest.mark.parametrize("current,named,new,expected", [
    (NOBODY, "c-a", True, NAMED_A),          # a new customer belongs to the consultant named at intake
    (NOBODY, None, True, BY_LOAD),           # nobody named: the least loaded
    (NOBODY, "c-a", False, NAMED_A),         # an unowned customer's first named consultant
    (NAMED_A, "c-b", False, None),           # a later contact naming someone else moves nothing
    (NAMED_A, "c-b", True, None),
    (LOAD_B, "c-a", True, NAMED_A),          # the creating contact arrived after a complaint: it decides
    (DEAL_B, "c-a", True, NAMED_A),
    (LOAD_B, "c-b", True, Ownership("c-b", OwnerBasis.NAMED)),  # same consultant: now named, not by load
    (LOAD_B, "c-a", False, None),            # only the contact that created the customer takes over
    (LOAD_B, None, True, None),
    (MOVED_B, "c-a", True, None),            # a manager's reassignment is never undone by a late contact
])
def test_owner_on_contact(current, named, new, expected):
    assert owner_on_contact(current, named, new) == expected


def test_work_for_an_unowned_customer_gives_it_an_owner_and_an_owned_one_keeps_theirs():
    assert owner_when_needed(NOBODY) == BY_LOAD
    assert owner_when_needed(NOBODY, "c-a") == Ownership("c-a", OwnerBasis.DEAL)
    assert owner_when_needed(NAMED_A, "c-b") is None


def test_only_guesses_made_before_the_creating_contact_are_provisional():
    assert {b for b in OwnerBasis if b.provisional} == {OwnerBasis.LOAD, OwnerBasis.DEAL}
