"""Taking in a batch of contacts as if one after another, decided in memory.

The runtime looks up, once for the whole batch, what the registry knows (the
owners of every phone and email, the current card of every customer they
point at, the referrers, the roster); ``plan_batch`` then applies the rows in
order to that picture — each row sees the customers and keys the rows before
it created — with the same rules as a single contact (``resolve_identity``,
``merge_cards``, ``diff_card``). Two rows with the same phone are one customer,
exactly as two requests one after the other would be. The runtime writes the
outcome with a fixed number of statements.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.errors import DomainError, DomainValidationError

from .contacts import ContactIn, resolve_occurred_at
from .customers import CustomerCard, FieldChange, diff_card, merge_cards
from .identity import IdentityKey, KeyKind, resolve_identity


@dataclass
class RegistryView:
    """What the registry knows of the batch's identities, as of the batch's start (then kept
    current by ``plan_batch`` as rows claim keys and change cards)."""

    owners: dict[IdentityKey, uuid.UUID]  # the rows' keys and referrer phones that someone owns
    cards: dict[uuid.UUID, CustomerCard]  # the current card of every customer those keys point at
    live_ids: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # a referrer id -> the customer it now is
    roster: dict[str, bool] = field(default_factory=dict)  # consultant -> active (absent: not on the roster)


@dataclass(frozen=True)
class PlannedContact:
    """One accepted row: which customer it is and what it changes."""

    index: int
    contact: ContactIn
    contact_id: uuid.UUID
    customer_id: uuid.UUID
    is_new_customer: bool
    matched_by: KeyKind | None
    occurred_at: datetime
    dedup_key: str | None
    referrer_id: uuid.UUID | None
    keys_to_claim: tuple[IdentityKey, ...]
    merge_candidate: uuid.UUID | None
    card_changes: list[FieldChange]  # the creation (new customer) or the update (known customer)


@dataclass(frozen=True)
class RepeatedRow:
    """A row whose dedup key an earlier row of the same batch carried: taken in once, as that row."""

    index: int
    original: PlannedContact


@dataclass
class BatchPlan:
    rows: list[PlannedContact | RepeatedRow] = field(default_factory=list)
    problems: list[tuple[int, DomainError]] = field(default_factory=list)
    created: dict[uuid.UUID, CustomerCard] = field(default_factory=dict)  # new customers, final card
    updated: dict[uuid.UUID, CustomerCard] = field(default_factory=dict)  # known customers changed, final card


def check_consultant(roster: dict[str, bool], consultant_id: str | None) -> None:
    """A consultant named on a contact is an active member of the roster: an unknown id is an error,
    never a new consultant."""
    if not consultant_id:
        return
    active = roster.get(consultant_id)
    if not active:
        raise DomainValidationError(
            f"consultant {consultant_id!r} is {'inactive' if active is False else 'not on the roster'}",
            field="consultant_id")


def card_from(contact: ContactIn, claimable: set[IdentityKey]) -> CustomerCard:
    """What a contact tells about the person; phone/email only if no one else owns them.

    Built without validating again: every value is a field of the validated contact of the same type
    as the card's (OptName, OptPhone, ...), and the contact refuses a counterpart role for anyone
    but a business as the card does (test_contact_batch checks the two stay the same)."""
    mine = {k.kind for k in claimable}
    phone = contact.phone if KeyKind.PHONE in mine else None
    email = contact.email if KeyKind.EMAIL in mine else None
    return CustomerCard.model_construct(kind=contact.customer_kind, name=contact.name, phone=phone, email=email,
                                        company=contact.company, counterpart_role=contact.counterpart_role)


def referrer_key(contact: ContactIn) -> IdentityKey | None:
    return IdentityKey(KeyKind.PHONE, contact.referrer_phone) if contact.referrer_phone else None


def plan_batch(rows: Sequence[tuple[ContactIn, str | None]], now: datetime, view: RegistryView,
               new_id: Callable[[], uuid.UUID] = uuid.uuid4) -> BatchPlan:
    """Apply (contact, dedup key) rows in order to ``view`` (which it updates); a row that breaks a
    rule is a problem and changes nothing, so the rows after it see the registry without it."""
    plan = BatchPlan()
    received: dict[str, PlannedContact] = {}
    for index, (contact, dedup_key) in enumerate(rows):
        try:
            planned = _plan_row(index, contact, dedup_key, now, view, received, plan, new_id)
        except DomainError as exc:
            plan.problems.append((index, exc))
            continue
        plan.rows.append(planned)
    return plan


def _plan_row(index: int, contact: ContactIn, dedup_key: str | None, now: datetime, view: RegistryView,
              received: dict[str, PlannedContact], plan: BatchPlan,
              new_id: Callable[[], uuid.UUID]) -> PlannedContact | RepeatedRow:
    occurred = resolve_occurred_at(contact, now)
    check_consultant(view.roster, contact.consultant_id)
    if dedup_key and dedup_key in received:
        return RepeatedRow(index, received[dedup_key])
    keys = contact.identity_keys()
    owned = {k: view.owners[k] for k in keys if k in view.owners}
    resolution = resolve_identity(keys, owned)
    customer_id = resolution.customer_id
    referrer_id = _referrer(contact, customer_id, view)
    card = card_from(contact, {k for k in keys if owned.get(k) in (None, customer_id)})
    if customer_id is None:
        customer_id = new_id()
        changes = diff_card(None, card, at=now)
        view.cards[customer_id] = plan.created[customer_id] = card
    else:
        current = view.cards[customer_id]
        merged = merge_cards(current, card)[0]
        changes = diff_card(current, merged, at=now)
        if changes:
            view.cards[customer_id] = merged
            (plan.created if customer_id in plan.created else plan.updated)[customer_id] = merged
    for key in resolution.keys_to_claim:
        view.owners[key] = customer_id
    planned = PlannedContact(index=index, contact=contact, contact_id=new_id(), customer_id=customer_id,
                             is_new_customer=resolution.is_new_customer, matched_by=resolution.matched_by,
                             occurred_at=occurred, dedup_key=dedup_key, referrer_id=referrer_id,
                             keys_to_claim=resolution.keys_to_claim, merge_candidate=resolution.merge_candidate,
                             card_changes=changes)
    if dedup_key:
        received[dedup_key] = planned
    return planned


def _referrer(contact: ContactIn, customer_id: uuid.UUID | None, view: RegistryView) -> uuid.UUID | None:
    """The referring customer: by id, or by their phone; must be a known, other customer."""
    if contact.referrer_customer_id is not None:
        field_name, found = "referrer_customer_id", view.live_ids.get(contact.referrer_customer_id)
    elif (key := referrer_key(contact)) is not None:
        field_name, found = "referrer_phone", view.owners.get(key)
    else:
        return None
    if found is None:
        raise DomainValidationError("no known customer is the referrer", field=field_name)
    if found == customer_id:
        raise DomainValidationError("a customer cannot refer themselves", field=field_name)
    return found
