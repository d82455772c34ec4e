"""Schema evolution: every version of every event type that ever existed stays readable.

The registry is the list: for each event type, every version below its latest must have an
upcaster and a sample below, so bumping a VERSION without both fails here. Each sample, sent
as that version, decodes into a valid latest model. `contact-received` v1 -> v2 (the channel's
fields out of `notes` into `channel_details`) is checked against the builders themselves: any
v1 payload the old intake builder made upcasts to what the new builder makes for the contact.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

import pytest
from hypothesis import HealthCheck, assume, event, given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.analytics.domain.customer360 import build_360
from services.analytics.domain.state import fold_customer
from services.intake.domain.contacts import (
    _EXTRA_FIELDS,
    CHANNEL_ONLY_FIELDS,
    CHANNEL_RULES,
    ContactIn,
    InformantKind,
    ProspectingMethod,
    ReferralKind,
    StaffRelation,
    to_contact_received,
)
from shared import pii_seal as ps
from shared.events import registry
from shared.events.contract import PAST_PAYLOADS, ContactReceived, ContactReceivedV1, ContactReceivedV2
from shared.events.enums import Channel, CounterpartRole, CustomerKind
from shared.events.envelope import Envelope
from shared.events.registry import LATEST, MODELS, UPCASTERS, UnknownEvent, decode, upcast, upcast_envelope
from shared.events.schema_export import contract_schemas
from shared.events.upcasters import CONTACT_V1_NOTE_FIELDS, split_v1_notes
from shared.runtime.consumer import PoisonMessage, open_envelope

U = "3f0c8a9e-5b8e-4c1e-9b7a-2d4f6a8c0e12"
T = "2026-03-01T09:30:00+08:00"
# One sample payload per (event type, version) that ever existed, as its producers wrote it.
SAMPLES: dict[tuple[str, int], dict] = {
    ("contact-received", 1): {
        "contact_id": U, "channel": "vip_informant", "is_new_customer": True, "customer_kind": "business",
        "name": "王芳", "phone": "+8613800138000", "region": "上海", "initial_grade": "A", "consultant_id": "c-007",
        "budget": "250000.00", "referrer_customer_id": None,
        "notes": "想要七座\n下周再来\ncompany: 恒通贸易\njob_title: 采购经理\ninformant_kind: repair_shop\n"
                 "informant_name: 老王修理厂\ncallback_requested_at: 2026-03-02T10:00:00+08:00"},
    ("contact-received", 2): {
        "contact_id": U, "channel": "bulk_import", "phone": "+8613800138000", "notes": "展会名片",
        "channel_details": {"import_batch": "b-17", "source_row": 4, "company": "恒通贸易"}},
    ("contact-received", 3): {
        "contact_id": U, "channel": "bulk_import", "phone": "+8613800138000", "historical": True,
        "channel_details": {"import_batch": "history-9c", "source_row": 2}},
    ("complaint-filed", 1): {"complaint_id": U, "channel": "phone", "severity": "high", "description": "车漆起泡",
                             "category": "product_quality"},
    ("consent-changed", 1): {"marketing_allowed": False, "source": "web form"},
    ("customer-merged", 1): {"merged_customer_id": U},
    ("customer-updated", 1): {"changed_fields": ["birthday"], "card": {"birthday": "1990-05-01"}},
    ("customer-erased", 1): {"erased_at": T, "requested_by": "ops:ops", "merged_customer_ids": [U]},
    ("prospect-graded", 1): {"grade": "H", "previous_grade": "A", "rule": "timeframe", "cause_event_id": U,
                             "policy_version": "2026-01"},
    ("prospect-graded", 2): {"grade": "H", "previous_grade": "A", "rule": "override", "cause_event_id": U,
                             "overridden_by": "c-007", "override_reason": "keen after the test drive",
                             "policy_version": "2026-01", "revision": 2, "history": [
                                 {"grade": "A", "status": "active", "rule": "timeframe", "at": T},
                                 {"grade": "H", "previous_grade": "A", "status": "active", "rule": "timeframe",
                                  "at": T, "cause_event_id": U}]},
    ("customer-valued", 1): {"policy_version": "2026-01", "pyramid_tier": "A", "loyalty_score": "72.5"},
    ("task-scheduled", 1): {"task_id": U, "kind": "first_contact", "owner_id": "c-007", "due_at": T},
    ("followup-logged", 1): {"task_id": U, "kind": "first_contact", "consultant_id": "c-007", "method": "phone",
                             "outcome": "reached", "completed_at": T},
    ("followup-logged", 2): {"task_id": U, "kind": "first_contact", "consultant_id": "c-007", "method": "phone",
                             "outcome": "reached", "completed_at": T, "late": True},
    ("task-closed", 1): {"task_id": U, "status": "cancelled", "reason": "customer lost"},
    ("task-escalated", 1): {"task_id": U, "kind": "first_contact", "owner_id": "c-007", "due_at": T,
                            "late_hours": 3, "escalated_at": T},
    ("deal-closed", 1): {"deal_id": U, "consultant_id": "c-007", "amount": "158000.00", "gross_profit": "12600.00",
                         "closed_on": "2026-03-01",
                         "items": [{"product": "Sedan L", "quantity": 1, "unit_price": "158000.00"}]},
    ("prospect-lost", 1): {"reason": "price", "approved_by": "m-01"},
    ("complaint-updated", 1): {"complaint_id": U, "status": "acknowledged", "at": T},
    ("payment-recorded", 1): {"deal_id": U, "amount": "50000.00", "paid_on": "2026-03-02", "due_on": "2026-03-01",
                              "balance_after": "108000.00"},
    ("consultant-updated", 1): {"consultant_id": "c-007"},
    ("customer-assigned", 1): {"owner_id": "c-007", "previous_owner_id": "c-001", "basis": "reassigned",
                               "assignment_note": "c-001 moved to fleet sales", "assigned_by": "m-01"},
    ("personal-data-read", 1): {"subject": "m-01", "role": "manager", "what": "customer 360", "read_at": T},
    ("dead-letters", 1): {"consumer": "grading", "topic": "contact-received", "partition": 0, "offset": 7,
                          "reason": "payload.channel: bad", "original": "{}", "failed_at": T},
}


def ever_existed() -> set[tuple[str, int]]:
    return {(t, v) for t, model in LATEST.items() for v in range(1, model.VERSION + 1)}


def envelope(event_type: str, version: int, payload: dict, *, customer_id: uuid.UUID | None = None,
             event_id: uuid.UUID | None = None, occurred_at: datetime | None = None) -> Envelope:
    at = occurred_at or datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    return Envelope(event_id=event_id or uuid.uuid4(), event_type=event_type, schema_version=version, occurred_at=at,
                    recorded_at=at, producer="old-intake", customer_id=customer_id or uuid.uuid4(), payload=payload)


# ------------------------------------------------------------------ the registry is complete


def test_every_version_below_the_latest_has_an_upcaster_and_every_version_a_sample():
    missing_upcasters = {(t, v) for t, v in ever_existed() if v < LATEST[t].VERSION} - set(UPCASTERS)
    assert not missing_upcasters, f"a VERSION was bumped without an upcaster from {sorted(missing_upcasters)}"
    stray = {(t, v) for t, v in UPCASTERS if t not in LATEST or v >= LATEST[t].VERSION}
    assert not stray, f"upcasters that no version needs: {sorted(stray)}"
    assert set(SAMPLES) == ever_existed(), (
        f"samples missing for {sorted(ever_existed() - set(SAMPLES))}, unknown {sorted(set(SAMPLES) - ever_existed())}")


def test_past_versions_are_published_and_known_to_the_registry():
    assert {(p.EVENT_TYPE, p.VERSION) for p in PAST_PAYLOADS} <= ever_existed()
    assert ContactReceived.VERSION == 3 and MODELS[("contact-received", 1)] is ContactReceivedV1
    assert MODELS[("contact-received", 2)] is ContactReceivedV2
    files = set(contract_schemas())
    for event_type, version in MODELS:
        assert f"{event_type}.v{version}.schema.json" in files
    assert {"contact-received.v1.schema.json", "contact-received.v2.schema.json",
            "contact-received.v3.schema.json"} <= files


@pytest.mark.parametrize(("event_type", "version"), sorted(SAMPLES))
def test_a_sample_of_every_version_decodes_into_a_valid_latest_model(event_type, version):
    sample = SAMPLES[(event_type, version)]
    if (event_type, version) in MODELS:
        MODELS[(event_type, version)].model_validate(sample)  # the sample is what that version's producers sent
    payload = decode(envelope(event_type, version, sample))
    latest = LATEST[event_type]
    assert type(payload) is latest
    assert latest.model_validate(payload.model_dump(mode="json")) == payload


def test_the_contact_received_v1_sample_upcasts_to_channel_details():
    payload = decode(envelope("contact-received", 1, SAMPLES[("contact-received", 1)]))
    assert payload.notes == "想要七座\n下周再来"
    assert payload.channel_details == {"company": "恒通贸易", "job_title": "采购经理", "informant_kind": "repair_shop",
                                       "informant_name": "老王修理厂",
                                       "callback_requested_at": "2026-03-02T10:00:00+08:00"}
    assert str(payload.budget) == "250000.00" and payload.name == "王芳"


def test_every_contact_before_version_3_was_a_live_one():
    """Version 3 tells a contact taken over from history; every earlier producer sent live contacts."""
    for version in (1, 2):
        assert decode(envelope("contact-received", version, SAMPLES[("contact-received", version)])).historical is False
    assert decode(envelope("contact-received", 3, SAMPLES[("contact-received", 3)])).historical is True


def test_a_version_newer_than_the_code_is_refused_naming_schema_version():
    sample = SAMPLES[("contact-received", 2)]
    with pytest.raises(UnknownEvent, match="schema_version: 99 is newer than supported 3"):
        decode(envelope("contact-received", 99, sample))
    with pytest.raises(PoisonMessage, match="schema_version"):  # the consumer dead-letters it with that reason
        open_envelope(envelope("contact-received", 99, sample), {})
    with pytest.raises(UnknownEvent, match="event_type"):
        decode(envelope("no-such-event", 1, {}))


def test_a_gap_in_the_upcaster_chain_is_refused_not_guessed(monkeypatch):
    monkeypatch.delitem(UPCASTERS, ("contact-received", 1))
    with pytest.raises(UnknownEvent, match="schema_version: no upcaster from version 1"):
        decode(envelope("contact-received", 1, SAMPLES[("contact-received", 1)]))


def test_an_old_version_number_on_a_newer_payload_is_refused():
    """A v1 envelope must hold a v1 payload: a v2 field under version 1 is not silently upcast away."""
    bad = envelope("contact-received", 1, {**SAMPLES[("contact-received", 1)], "channel_details": {"company": "x"}})
    with pytest.raises(PoisonMessage, match="payload.channel_details"):
        open_envelope(bad, {})


# ------------------------------------------------------------------ contact-received v1 -> v2 against the builders


def old_to_contact_received(contact: ContactIn, *, contact_id: uuid.UUID, is_new_customer: bool,
                            referrer_customer_id: uuid.UUID | None = None,
                            with_referrer_phone: bool = False) -> ContactReceivedV1:
    """intake's version-1 builder, frozen as it was (`with_referrer_phone`: as it was before the referrer's
    phone stopped being carried): the channel's fields appended to notes, the whole cut at 2,000."""
    names = list(_EXTRA_FIELDS)
    if with_referrer_phone:
        names.insert(names.index("referral_kind") + 1, "referrer_phone")
    extras = []
    for name in names:
        value = getattr(contact, name)
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, StrEnum):
            value = value.value
        extras.append((name, value))
    notes = contact.notes
    if extras:
        block = "\n".join(f"{k}: {v}" for k, v in extras)
        notes = f"{notes}\n{block}" if notes else block
        if len(notes) > 2000:
            notes = notes[:1999] + "…"
    return ContactReceivedV1(
        contact_id=contact_id, channel=contact.channel, is_new_customer=is_new_customer,
        customer_kind=contact.customer_kind, name=contact.name, phone=contact.phone, email=contact.email,
        region=contact.region, purpose=contact.purpose, party_size=contact.party_size,
        receptionist=contact.receptionist, initial_grade=contact.initial_grade, consultant_id=contact.consultant_id,
        product_interest=contact.product_interest, purchase_timeframe=contact.purchase_timeframe,
        budget=contact.budget, campaign=contact.campaign,
        referrer_customer_id=referrer_customer_id or contact.referrer_customer_id, notes=notes)


CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Co", "Cn", "Zl", "Zp"))
SHORT = st.one_of(st.text(CHARS, min_size=1, max_size=30), st.sampled_from(["a: b", "x:y", "恒通贸易", " 12 ", "007"]))
LOOKALIKE_KEYS = (*CONTACT_V1_NOTE_FIELDS, "Company", "phone", "notes", "company:", "")
NOTE_LINE = st.one_of(
    st.text(CHARS | st.just("\t"), max_size=60),
    st.builds(lambda k, sep, v: f"{k}{sep}{v}", st.sampled_from(LOOKALIKE_KEYS), st.sampled_from([": ", ":", " : "]),
              SHORT))
NOTES = st.one_of(st.none(), st.lists(NOTE_LINE, min_size=1, max_size=6).map("\n".join),
                  st.text(CHARS, min_size=1900, max_size=2000))  # long: the v1 builder had to cut
AWARE = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))]))
FIELD_VALUES = {
    "call_id": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,20}", fullmatch=True),
    "prospecting_method": st.sampled_from(list(ProspectingMethod)),
    "target_segment": SHORT, "referral_kind": st.sampled_from(list(ReferralKind)),
    "referrer_customer_id": st.uuids(), "referrer_phone": st.just("13900139000"),
    "informant_kind": st.sampled_from(list(InformantKind)), "informant_name": SHORT,
    "referring_staff_id": SHORT, "staff_relation": st.sampled_from(list(StaffRelation)),
    "service_station": SHORT, "import_batch": SHORT, "source_row": st.integers(1, 10**9), "campaign": SHORT,
}


@st.composite
def contacts(draw) -> ContactIn:
    channel = draw(st.sampled_from(list(Channel)))
    rule = CHANNEL_RULES[channel]
    data: dict = {"channel": channel.value, "phone": "13800138000", "notes": draw(NOTES)}
    for name in rule.required:
        data[name] = draw(FIELD_VALUES[name])
    if rule.one_of:
        data["referrer_customer_id"] = draw(st.uuids())
    for name, channels in CHANNEL_ONLY_FIELDS.items():
        if channel in channels and name not in data and draw(st.booleans()):
            data[name] = draw(FIELD_VALUES[name])
    if draw(st.booleans()):
        data.update(customer_kind=CustomerKind.BUSINESS.value, company=draw(SHORT))
        if draw(st.booleans()):
            data["counterpart_role"] = draw(st.sampled_from(list(CounterpartRole))).value
    elif draw(st.booleans()):
        data["company"] = draw(SHORT)
    for name, values in (("job_title", SHORT), ("callback_requested_at", AWARE), ("name", SHORT),
                         ("region", SHORT), ("budget", st.decimals(0, 10**6, places=2))):
        if draw(st.booleans()):
            data[name] = draw(values)
    try:
        return ContactIn.model_validate(data)
    except ValidationError:
        reject()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(contact=contacts(), contact_id=st.uuids(), is_new=st.booleans(), referrer=st.none() | st.uuids(),
       with_referrer_phone=st.booleans())
def test_any_v1_the_old_builder_made_upcasts_to_what_the_new_builder_makes(contact, contact_id, is_new, referrer,
                                                                            with_referrer_phone):
    # Free text that itself ends in a channel-field line cannot be told from one (see the test below),
    # nor from a referrer's phone line, which the upcast drops by design.
    free, details = split_v1_notes(contact.notes)
    assume(not details and free == contact.notes)
    old = old_to_contact_received(contact, contact_id=contact_id, is_new_customer=is_new,
                                  referrer_customer_id=referrer, with_referrer_phone=with_referrer_phone)
    new = to_contact_received(contact, contact_id=contact_id, is_new_customer=is_new, referrer_customer_id=referrer)
    upcast_payload = decode(envelope("contact-received", 1, old.model_dump(mode="json")))
    extras = dict(new.channel_details or {})
    if with_referrer_phone and contact.referrer_phone:
        extras["referrer_phone"] = contact.referrer_phone
    full = "\n".join(x for x in (contact.notes, *(f"{k}: {v}" for k, v in extras.items())) if x)
    event(f"channel fields: {min(len(extras), 3)}{'+' if len(extras) >= 3 else ''}; "
          f"{'cut at 2,000' if len(full) > 2000 else 'whole'}; notes {'with' if contact.notes else 'without'} text")
    if len(full) <= 2000:  # the old builder did not have to cut: the upcast is exact
        assert upcast_payload.model_dump(mode="json") == new.model_dump(mode="json")
    else:  # cut: the v1 payload lost text for good; it still reads as a valid v2 with everything else intact
        assert len(upcast_payload.notes or "") <= 2000
        assert upcast_payload.model_dump(mode="json", exclude={"notes", "channel_details"}) == \
            new.model_dump(mode="json", exclude={"notes", "channel_details"})


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(NOTE_LINE | st.text(CHARS, min_size=150, max_size=400), max_size=8), more=st.booleans())
def test_any_valid_v1_payload_upcasts_to_a_valid_v2_and_loses_no_text(lines, more):
    """Not only what our builder wrote: any valid v1 notes (other producers, hand edits) upcast without
    failing, and the free text plus the lines moved out give the original notes back (but for a
    referrer's phone, dropped by design)."""
    notes = "\n".join(lines)[:2000] or None
    if more and notes:
        notes = notes[:1980] + "\nsource_row: 12"
    v1 = ContactReceivedV1(contact_id=uuid.uuid4(), channel="walk_in", notes=notes).model_dump(mode="json")
    v2 = decode(envelope("contact-received", 1, v1))
    free, details = split_v1_notes(notes)
    assert v2.notes == free and (v2.channel_details or {}) == details
    if "referrer_phone: " in (notes or ""):
        return  # a referrer's phone line may be dropped by design (test_the_known_ambiguity_...)
    if details:
        block = "\n".join(notes.split("\n")[-len(details):])
        assert notes.endswith(block) and (free or "") == notes[: len(notes) - len(block)].removesuffix("\n")
    else:
        assert v2.notes == notes


def test_the_known_ambiguity_and_the_lines_that_do_not_move():
    # free text ending in what reads as a channel field is taken for one (v1 cannot tell them apart)
    assert split_v1_notes("call me\ncompany: ACME") == ("call me", {"company": "ACME"})
    # not at the end, out of order, unknown, not short single-line text: they stay in the free text
    assert split_v1_notes("company: ACME\nsee you") == ("company: ACME\nsee you", {})
    assert split_v1_notes("x\njob_title: boss\ncompany: ACME") == ("x\njob_title: boss", {"company": "ACME"})
    assert split_v1_notes("x\nCompany: ACME") == ("x\nCompany: ACME", {})
    assert split_v1_notes("x\ncompany: " + "a" * 201) == ("x\ncompany: " + "a" * 201, {})
    assert split_v1_notes("x\ncompany: a\tb") == ("x\ncompany: a\tb", {})
    assert split_v1_notes(None) == (None, {}) and split_v1_notes("") == ("", {})
    # the numbers come back as numbers; the referrer's phone (resolved into referrer_customer_id) is dropped
    assert split_v1_notes("referral_kind: replacement\nreferrer_phone: +8613900139000\nsource_row: 7") == (
        None, {"referral_kind": "replacement", "source_row": 7})
    assert split_v1_notes("source_row: 7x") == (None, {"source_row": "7x"})


# ------------------------------------------------------------------ unseal first, upcast after


def sample_contact() -> ContactIn:
    return ContactIn.model_validate({
        "channel": "vip_informant", "phone": "13800138000", "name": "王芳", "notes": "想要七座",
        "informant_kind": "repair_shop", "informant_name": "老王修理厂", "company": "恒通贸易"})


def test_a_sealed_v1_is_opened_then_upcast_and_reads_as_erased_once_the_key_is_gone():
    key, customer = ps.new_key(), uuid.uuid4()
    contact = sample_contact()
    old = old_to_contact_received(contact, contact_id=uuid.uuid4(), is_new_customer=True)
    sealed = ps.seal_envelope(envelope("contact-received", 1, old.model_dump(mode="json"), customer_id=customer), key)
    assert sealed.sealed == ["name", "phone", "notes"] and "老王修理厂" not in sealed.model_dump_json()
    inbound = open_envelope(sealed, {customer: key})  # the consumer's path
    assert inbound.envelope is sealed and inbound.envelope.schema_version == 1  # stored as sent
    assert inbound.payload == to_contact_received(contact, contact_id=old.contact_id, is_new_customer=True)
    erased = open_envelope(sealed, {}).payload
    assert erased.notes is None and erased.channel_details is None and erased.name is None


def test_a_contact_seals_its_channel_details_like_the_card():
    key, customer = ps.new_key(), uuid.uuid4()
    payload = to_contact_received(sample_contact(), contact_id=uuid.uuid4(), is_new_customer=True)
    sealed = ps.seal_envelope(envelope("contact-received", ContactReceived.VERSION, payload.model_dump(mode="json"),
                                       customer_id=customer),
                              key)
    assert sealed.sealed == ["name", "phone", "notes", "channel_details"]
    assert "老王修理厂" not in sealed.model_dump_json() and "恒通贸易" not in sealed.model_dump_json()
    assert open_envelope(sealed, {customer: key}).payload == payload
    assert ps.erased_values(ContactReceived)["channel_details"] is None


def test_analytics_folds_a_v1_as_the_v2_it_upcasts_to():
    customer, event_id = uuid.uuid4(), uuid.uuid4()
    contact = sample_contact()
    old = old_to_contact_received(contact, contact_id=uuid.uuid4(), is_new_customer=True)
    new = to_contact_received(contact, contact_id=old.contact_id, is_new_customer=True)
    v1 = envelope("contact-received", 1, old.model_dump(mode="json"), customer_id=customer, event_id=event_id)
    v2 = envelope("contact-received", ContactReceived.VERSION, new.model_dump(mode="json"), customer_id=customer,
                  event_id=event_id)  # what intake sends now
    assert upcast_envelope(v1) == v2 and upcast_envelope(v2) is v2
    assert fold_customer(str(customer), [v1]) == fold_customer(str(customer), [v2])
    [shown] = build_360(str(customer), [v1])["contacts"]
    assert shown["notes"] == "想要七座"
    assert shown["channel_details"] == {"company": "恒通贸易", "informant_kind": "repair_shop",
                                        "informant_name": "老王修理厂"}
    [masked] = build_360(str(customer), [v1], full_profile=False)["contacts"]
    assert masked["notes"] is None and masked["channel_details"] is None and masked["channel"] == "vip_informant"


def test_upcast_leaves_what_it_cannot_upcast_alone():
    cost = envelope("campaign-cost-recorded", 1, {"campaign": "x", "amount": "1.00"})
    assert upcast_envelope(cost) is cost
    assert upcast("contact-received", ContactReceived.VERSION, {"a": 1}) == {"a": 1}
    assert registry.upcast("contact-received", 1, {"contact_id": U, "channel": "phone"})["channel_details"] is None
