import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from services.intake.domain.contacts import (
    CHANNEL_ONLY_FIELDS,
    CHANNEL_RULES,
    ContactIn,
    ReferralKind,
    resolve_occurred_at,
    to_contact_received,
)
from services.intake.domain.errors import DomainValidationError
from shared.events.enums import Channel, CustomerKind, IntentGrade, PurchaseTimeframe

BASE = {"phone": "138 0013 8000"}

CHANNEL_EXTRAS: dict[Channel, dict] = {
    Channel.WALK_IN: {},
    Channel.PHONE: {},
    Channel.WEB_FORM: {},
    Channel.CALL_CENTER: {"call_id": "C-1"},
    Channel.EXHIBITION: {"campaign": "2024 上海车展"},
    Channel.TARGETED_PROSPECTING: {"prospecting_method": "visit"},
    Channel.AREA_CAMPAIGN: {"campaign": "松江镇巡展"},
    Channel.CUSTOMER_REFERRAL: {"referral_kind": "recommendation", "referrer_phone": "13900139000"},
    Channel.VIP_INFORMANT: {"informant_kind": "repair_shop", "informant_name": "老王修理厂"},
    Channel.INTERNAL_REFERRAL: {"referring_staff_id": "S-017"},
    Channel.SERVICE_STATION: {"service_station": "SS-Pudong"},
    Channel.BULK_IMPORT: {"import_batch": "cards-2024-05"},
}


def errors_of(data):
    with pytest.raises(ValidationError) as info:
        ContactIn.model_validate(data)
    return {tuple(e["loc"]): e for e in info.value.errors(include_url=False)}


def test_every_channel_is_covered():
    assert set(CHANNEL_EXTRAS) == set(Channel) == set(CHANNEL_RULES)


@pytest.mark.parametrize("channel", list(Channel))
def test_each_channel_accepted_with_its_required_fields(channel):
    contact = ContactIn.model_validate({"channel": channel.value, **BASE, **CHANNEL_EXTRAS[channel]})
    assert contact.channel is channel
    assert contact.phone == "+8613800138000"


@pytest.mark.parametrize(
    ("channel", "field"),
    [(c, f) for c, extras in CHANNEL_EXTRAS.items() for f in extras],
)
def test_each_channel_rejected_without_a_required_field_naming_it(channel, field):
    data = {"channel": channel.value, **BASE, **CHANNEL_EXTRAS[channel]}
    del data[field]
    if channel is Channel.CUSTOMER_REFERRAL and field == "referrer_phone":
        # the referrer is one of referrer_customer_id / referrer_phone
        errs = errors_of(data)
        assert ("referrer_customer_id",) in errs
        assert "referrer_phone" in errs[("referrer_customer_id",)]["msg"]
        return
    errs = errors_of(data)
    assert (field,) in errs, errs
    assert channel.value in errs[(field,)]["msg"]


@pytest.mark.parametrize("channel", list(Channel))
def test_each_channel_rejected_without_phone_and_email(channel):
    errs = errors_of({"channel": channel.value, **CHANNEL_EXTRAS[channel]})
    assert ("phone",) in errs and errs[("phone",)]["type"] == "missing_identity"


def test_email_alone_is_enough():
    contact = ContactIn.model_validate({"channel": "web_form", "email": " Li@QQ.com "})
    assert contact.email == "li@qq.com" and contact.phone is None


def test_referrer_customer_id_alone_is_enough_and_kinds():
    for kind in ReferralKind:
        c = ContactIn.model_validate(
            {"channel": "customer_referral", **BASE, "referral_kind": kind.value,
             "referrer_customer_id": str(uuid.uuid4())}
        )
        assert c.referral_kind is kind


def test_self_recommendation_rejected_but_replacement_by_same_person_allowed():
    errs = errors_of({"channel": "customer_referral", "phone": "13800138000",
                      "referral_kind": "recommendation", "referrer_phone": "+86 138 0013 8000"})
    assert ("referrer_phone",) in errs
    c = ContactIn.model_validate({"channel": "customer_referral", "phone": "13800138000",
                                  "referral_kind": "replacement", "referrer_phone": "13800138000"})
    assert c.referrer_phone == c.phone


@pytest.mark.parametrize("field", sorted(CHANNEL_ONLY_FIELDS))
def test_channel_specific_fields_rejected_on_other_channels(field):
    value = {"referral_kind": "replacement", "prospecting_method": "mail",
             "informant_kind": "other", "staff_relation": "relative",
             "referrer_customer_id": str(uuid.uuid4()), "referrer_phone": "13900139000",
             "source_row": 5, "call_id": "C1"}.get(field, "x")
    errs = errors_of({"channel": "walk_in", **BASE, field: value})
    assert (field,) in errs and errs[(field,)]["type"] == "not_for_channel"


def test_full_showroom_traffic_log_record():
    c = ContactIn.model_validate(
        {
            "channel": "walk_in",
            "occurred_at": "2024-05-01T10:00:00+08:00",
            "name": " 张三 ",
            "phone": "138 0013 8000",
            "email": "zhangsan@example.com",
            "region": "浦东",
            "purpose": "看车\n试驾",
            "party_size": 3,
            "receptionist": "R01",
            "initial_grade": "H",
            "consultant_id": "C007",
            "product_interest": "SUV X5",
            "purchase_timeframe": "within_7_days",
            "budget": "250000.00",
            "campaign": "五一特惠",
            "notes": "带家人",
        }
    )
    assert c.name == "张三" and c.purpose == "看车\n试驾"
    assert c.initial_grade is IntentGrade.H
    assert c.purchase_timeframe is PurchaseTimeframe.WITHIN_7_DAYS
    assert c.budget == Decimal("250000.00")


@pytest.mark.parametrize(
    ("field", "value", "etype"),
    [
        ("name", "x" * 101, "string_too_long"),
        ("region", "x" * 201, "string_too_long"),
        ("notes", "x" * 2001, "string_too_long"),
        ("name", "张\x07三", "control_character"),
        ("name", "a\u202eb", "control_character"),
        ("region", "上海\n浦东", "control_character"),  # single-line field
        ("notes", "a\x00b", "control_character"),
        ("party_size", 0, "greater_than_equal"),
        ("party_size", 1001, "less_than_equal"),
        ("budget", "-1", "greater_than_equal"),
        ("budget", "1.234", "decimal_max_places"),
        ("initial_grade", "Z", "enum"),
        ("occurred_at", "2024-05-01T10:00:00", "timezone_aware"),
        ("phone", "12345", "invalid_phone"),
        ("email", "li@", "invalid_email"),
        ("unknown_field", "x", "extra_forbidden"),
        ("call_id", "bad id with spaces", "string_pattern_mismatch"),
    ],
)
def test_bad_values_rejected_naming_the_field(field, value, etype):
    channel = "call_center" if field == "call_id" else "walk_in"
    errs = errors_of({"channel": channel, **BASE, field: value})
    assert (field,) in errs, errs
    assert errs[(field,)]["type"] == etype


def test_blank_optional_strings_mean_not_given():
    c = ContactIn.model_validate({"channel": "walk_in", **BASE, "name": "  ", "email": "", "notes": "\n"})
    assert c.name is None and c.email is None and c.notes is None


def test_business_kind_requires_company_and_role_only_for_business():
    errs = errors_of({"channel": "walk_in", **BASE, "customer_kind": "business"})
    assert ("company",) in errs
    errs = errors_of({"channel": "walk_in", **BASE, "counterpart_role": "trader"})
    assert ("counterpart_role",) in errs
    c = ContactIn.model_validate({"channel": "walk_in", **BASE, "customer_kind": "business",
                                  "company": "恒通贸易", "counterpart_role": "trader"})
    assert c.customer_kind is CustomerKind.BUSINESS


def test_several_rule_problems_reported_together():
    errs = errors_of({"channel": "vip_informant", "name": "张三", "call_id": "C1"})
    assert set(errs) == {("phone",), ("informant_kind",), ("informant_name",), ("call_id",)}
    # field-level errors come first (the channel rules run on well-formed fields)
    assert set(errors_of({"channel": "vip_informant", "name": "x" * 200})) == {("name",)}


def test_errors_inside_a_batch_keep_the_path():
    class Batch(BaseModel):
        contacts: list[ContactIn]

    with pytest.raises(ValidationError) as info:
        Batch.model_validate({"contacts": [{"channel": "walk_in", **BASE},
                                           {"channel": "exhibition", "email": "a@b.cn"}]})
    assert [tuple(e["loc"]) for e in info.value.errors()] == [("contacts", 1, "campaign")]


def test_json_schema_is_simple_and_flat():
    schema = ContactIn.model_json_schema()
    assert schema["required"] == ["channel"]
    assert "referral_kind" in schema["properties"]


def test_identity_keys_of_contact():
    c = ContactIn.model_validate({"channel": "walk_in", **BASE, "email": "A@B.cn"})
    assert [str(k) for k in c.identity_keys()] == ["phone:+8613800138000", "email:a@b.cn"]


def test_resolve_occurred_at():
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    c = ContactIn.model_validate({"channel": "walk_in", **BASE})
    assert resolve_occurred_at(c, now) == now
    past = ContactIn.model_validate({"channel": "walk_in", **BASE, "occurred_at": now - timedelta(days=1)})
    assert resolve_occurred_at(past, now) == now - timedelta(days=1)
    future = ContactIn.model_validate({"channel": "walk_in", **BASE, "occurred_at": now + timedelta(hours=1)})
    with pytest.raises(DomainValidationError) as info:
        resolve_occurred_at(future, now)
    assert info.value.field == "occurred_at"


def test_to_contact_received_keeps_everything():
    rid = uuid.uuid4()
    c = ContactIn.model_validate(
        {"channel": "customer_referral", **BASE, "referral_kind": "additional_purchase",
         "referrer_phone": "13900139000", "company": "恒通贸易", "notes": "老客户"}
    )
    event = to_contact_received(c, contact_id=uuid.uuid4(), is_new_customer=False,
                                referrer_customer_id=rid)
    assert event.channel is Channel.CUSTOMER_REFERRAL and event.phone == "+8613800138000"
    assert event.referrer_customer_id == rid and event.is_new_customer is False
    assert event.notes == "老客户"  # the free text alone (version 2)
    assert event.channel_details == {"referral_kind": "additional_purchase", "company": "恒通贸易"}
    assert "13900139000" not in event.model_dump_json()  # the referrer is the id, not their phone


def test_to_contact_received_keeps_long_notes_whole_beside_the_channel_details():
    c = ContactIn.model_validate({"channel": "bulk_import", **BASE, "notes": "x" * 2000, "company": "c",
                                  "import_batch": "b-1", "source_row": 7})
    event = to_contact_received(c, contact_id=uuid.uuid4(), is_new_customer=True)
    assert event.notes == "x" * 2000
    assert event.channel_details == {"company": "c", "import_batch": "b-1", "source_row": 7}
    plain = to_contact_received(ContactIn.model_validate({"channel": "walk_in", **BASE}), contact_id=uuid.uuid4(),
                                is_new_customer=True)
    assert plain.channel_details is None and plain.notes is None  # nothing to carry, nothing to seal
