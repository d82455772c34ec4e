"""A batch planned at once is the rows applied one after another (domain.contact_batch)."""
import uuid
from datetime import UTC, datetime

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.intake.domain.contact_batch import (
    PlannedContact,
    card_from,
    RegistryView,
    RepeatedRow,
    plan_batch,
)
from services.intake.domain.contacts import ContactIn
from services.intake.domain.customers import CustomerCard
from services.intake.domain.identity import IdentityKey, KeyKind

NOW = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
PHONES = ["+8613800138000", "+8613900139000", "+8615000150000"]
EMAILS = ["a@example.com", "b@example.com"]


def phone_key(p: str) -> IdentityKey:
    return IdentityKey(KeyKind.PHONE, p)


def walk_in(**fields) -> ContactIn:
    return ContactIn.model_validate({"channel": "walk_in", **fields})


def empty_view(**over) -> RegistryView:
    return RegistryView(owners=over.get("owners", {}), cards=over.get("cards", {}), roster={"c-001": True,
                                                                                         "c-009": False})


def test_two_rows_with_one_phone_are_one_customer_the_second_filling_the_card():
    rows = [(walk_in(phone=PHONES[0]), None), (walk_in(phone="138 0013 8000", name="王芳"), None)]
    plan = plan_batch(rows, NOW, empty_view())
    first, second = plan.rows
    assert first.is_new_customer and not second.is_new_customer
    assert second.customer_id == first.customer_id and second.matched_by is KeyKind.PHONE
    assert second.keys_to_claim == () and [c.field for c in second.card_changes] == ["name"]
    assert plan.created == {first.customer_id: CustomerCard(phone=PHONES[0], name="王芳")} and not plan.updated


def test_a_known_customer_is_matched_and_its_card_updated():
    known = uuid.uuid4()
    view = empty_view(owners={phone_key(PHONES[0]): known}, cards={known: CustomerCard(phone=PHONES[0])})
    plan = plan_batch([(walk_in(phone=PHONES[0], email=EMAILS[0]), None)], NOW, view)
    [row] = plan.rows
    assert (row.customer_id, row.is_new_customer, row.keys_to_claim) == (
        known, False, (IdentityKey(KeyKind.EMAIL, EMAILS[0]),))
    assert plan.updated[known].email == EMAILS[0] and not plan.created


def test_phone_and_email_of_two_customers_flag_a_merge_candidate():
    x, y = uuid.uuid4(), uuid.uuid4()
    view = empty_view(owners={phone_key(PHONES[0]): x, IdentityKey(KeyKind.EMAIL, EMAILS[0]): y},
                      cards={x: CustomerCard(phone=PHONES[0]), y: CustomerCard(email=EMAILS[0])})
    [row] = plan_batch([(walk_in(phone=PHONES[0], email=EMAILS[0]), None)], NOW, view).rows
    assert (row.customer_id, row.merge_candidate) == (x, y)


def test_a_broken_row_changes_nothing_for_the_rows_after_it():
    referral = {"channel": "customer_referral", "referral_kind": "recommendation", "referrer_phone": PHONES[0]}
    rows = [(walk_in(phone=PHONES[0], consultant_id="c-009"), None),  # inactive consultant: refused
            (ContactIn.model_validate({**referral, "phone": PHONES[1]}), None),  # so no referrer yet
            (walk_in(phone=PHONES[0]), None),
            (ContactIn.model_validate({**referral, "phone": PHONES[2]}), None)]  # now there is
    plan = plan_batch(rows, NOW, empty_view())
    assert [(i, e.field) for i, e in plan.problems] == [(0, "consultant_id"), (1, "referrer_phone")]
    made, referred = plan.rows
    assert referred.referrer_id == made.customer_id and made.is_new_customer


def test_a_row_repeated_in_the_batch_is_taken_in_once():
    row = walk_in(phone=PHONES[0])
    plan = plan_batch([(row, "import:b:2"), (row, "import:b:2")], NOW, empty_view())
    first, again = plan.rows
    assert isinstance(again, RepeatedRow) and again.original is first and len(plan.created) == 1


contacts = st.tuples(
    st.sampled_from([None, *PHONES]), st.sampled_from([None, *EMAILS]), st.sampled_from([None, "王芳", "李雷"]),
).filter(lambda t: t[0] or t[1]).map(lambda t: walk_in(phone=t[0], email=t[1], name=t[2]))


@settings(max_examples=150, deadline=None)
@given(st.lists(contacts, min_size=1, max_size=8))
def test_a_batch_is_the_same_as_its_rows_one_after_another(rows):
    """Same customers (up to their fresh ids), same matches, claims, changes and final cards."""
    at_once = plan_batch([(c, None) for c in rows], NOW, empty_view())
    view, one_by_one, created, updated = empty_view(), [], {}, {}
    for contact in rows:
        single = plan_batch([(contact, None)], NOW, view)
        one_by_one += single.rows
        created.update(single.created)
        for customer_id, card in single.updated.items():
            (created if customer_id in created else updated)[customer_id] = card
    assert not at_once.problems
    ids: dict[uuid.UUID, uuid.UUID] = {}

    def shape(row: PlannedContact, ids: dict) -> tuple:
        return (ids.setdefault(row.customer_id, len(ids)), row.is_new_customer, row.matched_by,
                row.keys_to_claim, [(c.field, c.old, c.new) for c in row.card_changes])

    batch_ids: dict = {}
    assert [shape(r, batch_ids) for r in at_once.rows] == [shape(r, ids) for r in one_by_one]
    assert sorted(at_once.created.values(), key=repr) == sorted(created.values(), key=repr)
    assert at_once.updated == updated == {}


texts = st.one_of(st.none(), st.sampled_from(["", "  ", " 王芳 ", "Li\u0301", "x" * 101, "a\u202eb"]),
                  st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=12))


@st.composite
def card_fields(draw) -> dict:
    """A contact's fields the card takes, mostly valid (an invalid contact never reaches card_from)."""
    business = draw(st.booleans())
    return {"channel": "walk_in", "customer_kind": "business" if business else "consumer", "name": draw(texts),
            "company": draw(texts if not business else st.sampled_from(["恒通贸易", " ACME Ltd. "])),
            "counterpart_role": draw(st.sampled_from([None, "supplier", "trader", "end_customer"]))
            if business else None,
            "phone": draw(st.sampled_from([None, "", "138 0013 8000", "+86 150-0015-0000"])),
            "email": draw(st.sampled_from([None, " A@Example.COM ", "b@x.cn"]))}


@settings(max_examples=300, deadline=None)
@given(card_fields(), st.sets(st.sampled_from(KeyKind)))
def test_a_card_built_from_a_contact_is_the_card_validation_would_give(fields, claim):
    """card_from skips validating the card again: the values it copies must be valid card values."""
    try:
        contact = ContactIn.model_validate(fields)
    except ValidationError:
        assume(False)
    keys = {k for k in contact.identity_keys() if k.kind in claim}
    card = card_from(contact, keys)
    validated = CustomerCard.model_validate(card.model_dump())
    assert card == validated and card.model_dump() == validated.model_dump()
    assert (card.phone is not None) == (KeyKind.PHONE in claim and contact.phone is not None)
