"""Crypto-shredding (shared.pii_seal): a sealed value opens only with its customer's key, for
its own field; without the key (erased) it never yields the plaintext; the envelope and the
published contract say what is sealed."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import pii_seal as ps
from shared.events.contract import (
    ALL_PAYLOADS,
    ComplaintFiled,
    ComplaintUpdated,
    ContactReceived,
    ContactReceivedV1,
    CustomerAssigned,
    CustomerUpdated,
    FollowUpLogged,
    ProspectGraded,
    ProspectLost,
)
from shared.events.envelope import Envelope, new_event
from shared.events.registry import LATEST, decode
from shared.events.schema_export import contract_schemas
from shared.runtime.consumer import PoisonMessage, open_envelope

ROOT = Path(__file__).resolve().parents[2]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
KEYS = st.binary(min_size=32, max_size=32)
FIELDS = st.sampled_from(["name", "phone", "email", "notes", "card", "description"])
# Personal text as the contract accepts it (no control characters); long enough that finding it
# inside base64 by chance is out of the question.
SECRETS = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=12, max_size=60).filter(
    lambda t: len(t.strip()) >= 12)


@settings(max_examples=200, deadline=None)
@given(value=JSON, key=KEYS, customer=st.uuids(), field=FIELDS)
def test_seal_then_open_gives_the_value_back(value, key, customer, field):
    token = ps.seal_value(value, key, customer_id=customer, field=field)
    assert ps.is_sealed(token) and json.dumps(token)  # a JSON string
    assert ps.open_value(token, key, customer_id=customer, field=field) == value


@settings(max_examples=200, deadline=None)
@given(secret=SECRETS, key=KEYS, other=KEYS, customer=st.uuids(), field=FIELDS)
def test_a_wrong_key_never_opens_and_the_plaintext_is_not_in_the_ciphertext(secret, key, other, customer, field):
    token = ps.seal_value(secret, key, customer_id=customer, field=field)
    assert secret not in token and json.dumps(secret, ensure_ascii=False) not in token
    if other != key:
        with pytest.raises(ps.SealError):
            ps.open_value(token, other, customer_id=customer, field=field)


@settings(max_examples=100, deadline=None)
@given(secret=SECRETS, key=KEYS, customer=st.uuids(), other_customer=st.uuids(), field=FIELDS, other_field=FIELDS)
def test_associated_data_binds_the_customer_and_the_field(secret, key, customer, other_customer, field, other_field):
    token = ps.seal_value(secret, key, customer_id=customer, field=field)
    if other_customer != customer:
        with pytest.raises(ps.SealError):
            ps.open_value(token, key, customer_id=other_customer, field=field)
    if other_field != field:
        with pytest.raises(ps.SealError):
            ps.open_value(token, key, customer_id=customer, field=other_field)


@settings(max_examples=100, deadline=None)
@given(name=SECRETS, phone=st.integers(0, 10**8 - 1), notes=SECRETS, key=KEYS, customer=st.uuids())
def test_a_destroyed_key_reads_as_erased_never_as_the_plaintext(name, phone, notes, key, customer):
    phone = f"+86139{phone:08d}"
    event = new_event(ContactReceived(contact_id=uuid.uuid4(), channel="walk_in", name=name.strip()[:200],
                                      phone=phone, notes=notes, region="上海"), customer_id=customer, producer="t")
    sealed = ps.seal_envelope(event, key)
    assert sealed.sealed == ["name", "phone", "region", "notes"]  # email was empty: nothing to seal
    text = sealed.model_dump_json()
    assert phone not in text and phone[3:] not in text and "上海" not in text
    erased = ps.unseal_envelope(Envelope.from_json(text), None)
    assert {k: erased.payload[k] for k in ("name", "phone", "email", "region", "notes")} == dict.fromkeys(
        ("name", "phone", "email", "region", "notes"))
    assert erased.payload["contact_id"] == event.payload["contact_id"]
    assert decode(erased).channel.value == "walk_in"  # still a valid payload
    assert ps.unseal_envelope(Envelope.from_json(text), key).payload == event.payload


def test_tampered_swapped_or_malformed_values_are_refused():
    key, customer = ps.new_key(), uuid.uuid4()
    payload, names = ps.seal_payload({"name": "王芳", "phone": "+8613800138000"}, ["name", "phone"], key,
                                     customer_id=customer)
    swapped = {"name": payload["phone"], "phone": payload["name"]}
    with pytest.raises(ps.SealError):
        ps.unseal_payload(swapped, names, key, customer_id=customer)
    token = payload["name"]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for bad in (flipped, ps.PREFIX + "not base64!", ps.PREFIX + "AAAA", "plain text"):
        with pytest.raises(ps.SealError):
            ps.unseal_payload({"name": bad}, ["name"], key, customer_id=customer)
    with pytest.raises(ps.SealError):
        ps.unseal_payload(payload, ["name", "email"], key, customer_id=customer)  # email is not there
    # A reader that must go on (a projection over a stored log) reads what does not open as erased.
    assert ps.unseal_payload({"name": flipped}, ["name"], key, customer_id=customer, strict=False) == {"name": None}


def test_personal_fields_come_from_the_contract_and_each_has_an_erased_form():
    assert ps.pii_fields(ContactReceived) == ("name", "phone", "email", "region", "purpose", "receptionist", "notes",
                                              "channel_details")
    assert ps.pii_fields(ContactReceivedV1) == ("name", "phone", "email", "region", "purpose", "receptionist",
                                                "notes")
    assert ps.pii_fields(CustomerUpdated) == ("card",)
    assert ps.pii_fields(ComplaintFiled) == ("description",)
    # free text about the person that follow-up writes (records, loss notes, remedies)
    assert ps.pii_fields(FollowUpLogged) == ("content",)
    assert ps.pii_fields(ProspectLost) == ("note",)
    assert ps.pii_fields(ComplaintUpdated) == ("remedy",)
    assert ps.erased_values(CustomerUpdated) == {"card": {}}
    assert ps.erased_values(ComplaintFiled) == {"description": ps.ERASED_TEXT}
    assert ps.erased_values(FollowUpLogged) == {"content": None}
    # why a grade was set by hand, why a customer was moved: staff's free text, about the person too
    assert ps.pii_fields(ProspectGraded) == ("override_reason",)
    assert ps.pii_fields(CustomerAssigned) == ("assignment_note",)
    assert set(ps.personal_event_types()) == {"contact-received", "customer-updated", "complaint-filed",
                                              "followup-logged", "prospect-lost", "complaint-updated",
                                              "prospect-graded", "customer-assigned"}
    for model in ALL_PAYLOADS:
        assert ps.erased_values(model).keys() == set(ps.pii_fields(model))


def test_every_sealed_event_still_decodes_once_erased():
    key, customer = ps.new_key(), uuid.uuid4()
    payloads = [
        ContactReceived(contact_id=uuid.uuid4(), channel="phone", name="李雷", email="li@example.com"),
        CustomerUpdated(changed_fields=["birthday", "name"], card={"birthday": "1990-05-01", "name": "李雷"}),
        ComplaintFiled(complaint_id=uuid.uuid4(), channel="phone", severity="high",
                       description="车漆有问题，电话13800138000"),
    ]
    for payload in payloads:
        sealed = ps.seal_envelope(new_event(payload, customer_id=customer, producer="t"), key)
        text = sealed.model_dump_json()
        assert sealed.sealed and "李雷" not in text and "13800138000" not in text
        assert decode(ps.unseal_envelope(sealed, key)) == payload
        erased = open_envelope(sealed, {}).payload  # the consumer's path, key gone
        assert "李雷" not in repr(erased) and "1990" not in repr(erased) and "13800138000" not in repr(erased)


def test_free_text_about_the_person_is_sealed_with_the_customers_key_and_reads_as_erased():
    """Follow-up's records, loss notes and remedies, and a contact's purpose, region and receptionist."""
    from datetime import UTC, datetime

    key, customer, at = ps.new_key(), uuid.uuid4(), datetime(2026, 3, 1, tzinfo=UTC)
    secret = "客户说下周带太太来看七座车 planted-7f3a"
    cases = [
        (FollowUpLogged(task_id=uuid.uuid4(), kind="first_contact", consultant_id="c-1", method="phone",
                        outcome="reached", content=secret, completed_at=at), "content"),
        (ProspectLost(reason="price", note=secret, approved_by="m-1"), "note"),
        (ComplaintUpdated(complaint_id=uuid.uuid4(), status="resolved", remedy=secret, at=at), "remedy"),
        (ContactReceived(contact_id=uuid.uuid4(), channel="walk_in", purpose=secret, region="浦东 planted",
                         receptionist="前台 planted", party_size=2), "purpose"),
    ]
    for payload, field in cases:
        event = new_event(payload, customer_id=customer, producer="followup")
        sealed = ps.seal_envelope(event, key)
        assert field in sealed.sealed and secret not in sealed.model_dump_json() and "planted" not in \
            sealed.model_dump_json()
        assert open_envelope(sealed, {customer: key}).payload == payload  # a consumer reads it back
        assert getattr(open_envelope(sealed, {}).payload, field) is None  # erased: the key is gone
        other = uuid.uuid4()
        with pytest.raises(PoisonMessage):  # bound to this customer: moved to another one, it does not open
            open_envelope(sealed.model_copy(update={"customer_id": other}), {other: key})


def test_the_consumer_opens_with_the_batch_keys_and_refuses_what_does_not_open():
    key, customer = ps.new_key(), uuid.uuid4()
    event = new_event(ContactReceived(contact_id=uuid.uuid4(), channel="web_form", name="Ann", email="a@b.cn"),
                      customer_id=customer, producer="t")
    sealed = ps.seal_envelope(event, key)
    inbound = open_envelope(sealed, {customer: key})
    assert inbound.payload.name == "Ann" and inbound.envelope is sealed  # the log keeps the sealed one
    assert open_envelope(sealed, {}).payload.name is None
    with pytest.raises(PoisonMessage, match="sealed"):
        open_envelope(sealed, {customer: ps.new_key()})
    forged = sealed.model_copy(update={"sealed": ["contact_id"]})
    with pytest.raises(PoisonMessage, match="contact_id"):
        open_envelope(forged, {customer: key})


def test_plaintext_envelopes_are_unchanged_on_the_wire():
    event = new_event(ContactReceived(contact_id=uuid.uuid4(), channel="walk_in", party_size=2, campaign="spring"),
                      customer_id=uuid.uuid4(), producer="t")
    assert not ps.needs_sealing(event) and ps.seal_envelope(event, ps.new_key()) is event
    assert '"sealed"' not in event.model_dump_json()  # old readers see the envelope they know
    old = json.loads(event.model_dump_json())
    assert Envelope.model_validate(old).sealed == []


def test_events_stored_before_sealing_are_redacted_on_erasure():
    event = new_event(ContactReceived(contact_id=uuid.uuid4(), channel="walk_in", name="Zhang", phone="+8613800138000",
                                      region="北京", campaign="spring"), customer_id=uuid.uuid4(), producer="t")
    redacted = ps.redact_envelope(event)
    assert redacted.payload["name"] is None and redacted.payload["phone"] is None
    assert redacted.payload["region"] is None and redacted.payload["campaign"] == "spring" and decode(redacted)


def test_published_schemas_are_current():
    """docs/events is generated by `crm schema` from the models: run it after changing the contract."""
    for name, schema in contract_schemas().items():
        path = ROOT / "docs" / "events" / name
        assert path.exists(), f"{name} missing: run `crm schema`"
        assert json.loads(path.read_text()) == json.loads(json.dumps(schema)), f"{name} is stale: run `crm schema`"
    assert set(LATEST) <= {n.split(".v")[0] for n in contract_schemas()}


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=6))
def test_a_sealed_value_opens_to_what_was_sealed_whatever_json_it_is(value):
    """Opened with orjson, and with the standard library where orjson refuses (NaN, the
    infinities, integers beyond 64 bits): what comes out is what went in."""
    key, customer = ps.new_key(), uuid.uuid4()
    opened = ps.open_value(ps.seal_value(value, key, customer_id=customer, field="note"), key,
                           customer_id=customer, field="note")
    assert json.dumps(opened, sort_keys=True) == json.dumps(value, sort_keys=True)
