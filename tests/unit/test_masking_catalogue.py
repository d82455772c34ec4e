"""The one masking of personal data (shared.masking): the catalogue, how each kind looks masked,
the document entry point, and docs/privacy.md's table of the same fields."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from services.intake.domain.customers import CARD_FIELDS
from services.intake.domain.erasure import KEPT_CARD_FIELDS, KEPT_CONTACT_FIELDS
from shared import masking as m
from shared import pii
from shared.events.contract import ALL_PAYLOADS, PAST_PAYLOADS
from shared.pii_seal import pii_fields

ROOT = Path(__file__).resolve().parents[2]
FREE_TEXT = ("gender", "occupation", "company", "job_title", "notes", "purpose", "region", "receptionist",
             "channel_details", "description", "survey_comment", "content", "note", "decision_note", "remedy")


def test_the_catalogue_covers_what_the_brief_and_the_contract_call_personal():
    required = {"name", "phone", "email", "id_number", "birthday", "home_address", "work_address",
                "home_postcode", "work_postcode", "gender", "occupation", "company", "notes", "purpose", "region",
                "receptionist", "channel_details", "description", "content", "note", "remedy",
                # the aliases intake's masking knew
                "mobile", "referrer_phone", "caller_phone", "caller_email", "caller_name", "referrer_name",
                "informant_name", "customer_name", "address"}
    assert required <= set(m.PERSONAL_FIELDS)
    # every field the contract seals is masked by key (the card is masked field by field)
    sealed = {f for model in (*ALL_PAYLOADS, *PAST_PAYLOADS) for f in pii_fields(model)} - {"card"}
    assert sealed <= set(m.PERSONAL_FIELDS), sealed - set(m.PERSONAL_FIELDS)
    # every card field about the person is in the catalogue; what erasure keeps is not
    about_the_business = set(KEPT_CARD_FIELDS) | {"usage_class", "membership_level"}
    assert set(CARD_FIELDS) - about_the_business <= set(m.PERSONAL_FIELDS)
    assert not (set(KEPT_CARD_FIELDS) | set(KEPT_CONTACT_FIELDS)) & set(m.PERSONAL_FIELDS)
    assert all(m.PERSONAL_FIELDS[f] is m.Kind.TEXT for f in FREE_TEXT)


def test_each_kind_keeps_only_its_hint():
    assert m.mask_phone("+8613800138000") == "+86138****8000"
    assert m.mask_phone("+861012345678") == "+86101***5678"
    assert m.mask_phone("13800138000") == "138****8000"
    assert m.mask_phone("12") == "****"
    assert m.mask_name("张三") == "张*" and m.mask_name("欧阳娜娜") == "欧阳**"
    assert m.mask_name("John Smith") == "* Smith"
    assert m.mask_name("Madonna") == "M***"
    assert m.mask_email("zhangsan@example.com") == "zh***@example.com" and m.mask_email("nope") == "***"
    assert m.mask_id_number("11010519491231002X") == "110105********002X"
    assert m.mask_birthday(date(1990, 5, 17)) == m.mask_birthday("1990-05-17") == "1990-**-**"
    assert m.mask_address("上海市浦东新区世纪大道1号") == "上海市浦东新****"
    assert m.mask_postcode("200120") == "200***"
    for field in FREE_TEXT:
        assert m.mask_field(field, "anything at all") is None
        assert m.mask_field(field, {"company": "恒通贸易"}) is None
    assert m.FREE_TEXT_MASKED is None


def test_mask_field_follows_the_catalogue_and_the_callers_decision():
    assert m.mask_field("phone", "+8613800138000") == "+86138****8000"
    assert m.mask_field("Phone", "+8613800138000") == "+86138****8000"  # keys match case-insensitively
    assert m.mask_field("phone", "+8613800138000", full=True) == "+8613800138000"
    assert m.mask_field("grade", "A") == "A" and m.mask_field("kind", "consumer") == "consumer"
    assert m.mask_field("birthday", date(1990, 5, 17)) == "1990-**-**"
    assert m.mask_field("phone", 13800138000) == "138****8000"  # a number is masked as its digits
    assert m.mask_field("phone", ["+8613800138000", None]) == ["+86138****8000", None]
    assert m.mask_field("name", None) is None


def test_mask_personal_masks_by_key_at_any_depth_and_leaves_the_input_alone():
    card = {"kind": "business", "company": "恒通贸易", "industry": "logistics", "name": "张三", "gender": "male",
            "occupation": "经理", "id_number": "11010519491231002X", "birthday": "1990-05-17",
            "home_address": "上海市浦东新区世纪大道1号", "home_postcode": "200120", "annual_revenue": "3000000"}
    view = {"customer_id": "c-1", "card": card, "profile": {"name": "王芳", "region": "浦东"},
            "contacts": [{"channel": "walk_in", "purpose": "看车", "notes": "想要七座", "channel_details": {"x": 1},
                          "receptionist": "前台小王"}],
            "tasks": {"t-1": {"record": {"content": "客户下周试驾", "outcome": "reached"}}},
            "losses": [{"reason": "price", "note": "别家便宜"}], "lost": {"note": "别家便宜"},
            "complaints": [{"description": "车漆起泡", "remedy": "补漆", "history": [{"remedy": "补漆"}],
                            "severity": "high"}]}
    before = json.dumps(view, ensure_ascii=False)
    out = m.mask_personal(view)
    assert json.dumps(view, ensure_ascii=False) == before  # a copy
    assert out["card"] == {"kind": "business", "company": None, "industry": "logistics", "name": "张*",
                           "gender": None, "occupation": None, "id_number": "110105********002X",
                           "birthday": "1990-**-**", "home_address": "上海市浦东新****", "home_postcode": "200***",
                           "annual_revenue": "3000000"}
    assert out["profile"] == {"name": "王*", "region": None}
    assert out["contacts"] == [{"channel": "walk_in", "purpose": None, "notes": None, "channel_details": None,
                                "receptionist": None}]
    assert out["tasks"]["t-1"]["record"] == {"content": None, "outcome": "reached"}
    assert out["losses"] == [{"reason": "price", "note": None}] and out["lost"] == {"note": None}
    assert out["complaints"] == [{"description": None, "remedy": None, "history": [{"remedy": None}],
                                  "severity": "high"}]
    assert m.mask_personal(view, full=True) is view


def test_models_and_structured_values_are_masked_too():
    class Card(BaseModel):
        name: str
        phone: int

    out = m.mask_personal({"card": Card(name="李四", phone=13800138000), "name": None,
                           "address": {"home": "上海市浦东新区世纪大道1号"}})
    assert out == {"card": {"name": "李*", "phone": "138****8000"}, "name": None,
                   "address": {"home": "上海市浦东新****"}}


PLANTED = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=12, max_size=40).filter(
    lambda t: len(t.strip()) >= 12)


@settings(max_examples=150, deadline=None)
@given(value=PLANTED, field=st.sampled_from(sorted(m.PERSONAL_FIELDS)), depth=st.integers(0, 4))
def test_no_whole_personal_value_survives_masking_at_any_depth(value, field, depth):
    document: object = {field: value.strip()}
    for i in range(depth):
        document = {f"level{i}": [document]}
    text = json.dumps(m.mask_personal(document), ensure_ascii=False)
    assert json.dumps(value.strip(), ensure_ascii=False)[1:-1] not in text


def test_logs_redact_every_catalogue_field_and_what_a_client_sent():
    event = {"event": "x", **{f: "planted value" for f in m.PERSONAL_FIELDS},
             "input": "rejected", "body": {"any": "thing"}}
    out = pii.redact_pii(None, "info", event)
    assert all(out[f] == pii.REDACTED for f in m.PERSONAL_FIELDS)
    assert out["input"] == pii.REDACTED and out["body"] == pii.REDACTED
    text = "1 validation error for M\nname\n  Input should be short [type=too_long, input_value='张三丰', " \
        "input_type=str]"
    assert "张三丰" not in pii.redact_text(text) and "input_value=[redacted]" in pii.redact_text(text)


def test_the_domains_use_the_shared_catalogue():
    """No masking of their own anywhere: every service shows masked data through shared.masking."""
    from services.analytics.domain import customer360

    assert customer360.mask_personal is m.mask_personal
    assert not hasattr(customer360, "mask") and not hasattr(customer360, "masked_profile")
    root = ROOT / "services"
    own = [p for p in root.rglob("*.py") if "tests" not in p.parts and "def mask_" in p.read_text()]
    assert own == [], f"masking outside shared.masking: {own}"


# ------------------------------------------------------------------ docs/privacy.md


def privacy_table() -> dict[str, str]:
    """field -> its "masked (example)" cell, from the table of personal fields in docs/privacy.md."""
    text = (ROOT / "docs" / "privacy.md").read_text()
    section = text.split("## Personal fields, where they live, how they are masked", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        found = re.match(r"^\| `([a-z_]+)` \|.*\| ([^|]+) \|$", line)
        if found:
            assert found.group(1) not in rows, f"{found.group(1)} twice in the table"
            rows[found.group(1)] = found.group(2).strip()
    return rows


def test_the_privacy_table_lists_exactly_the_catalogue():
    rows = privacy_table()
    assert set(rows) == set(m.PERSONAL_FIELDS), (
        f"missing from docs/privacy.md: {sorted(set(m.PERSONAL_FIELDS) - set(rows))}; "
        f"not in the catalogue: {sorted(set(rows) - set(m.PERSONAL_FIELDS))}")


@pytest.mark.parametrize("field", sorted(m.PERSONAL_FIELDS))
def test_each_example_in_the_privacy_table_is_what_the_code_shows(field):
    cell = privacy_table()[field]
    found = re.fullmatch(r"`(.+)` → `(.+)`", cell)
    assert found, f"{field}: the example is `value` → `masked`, got {cell!r}"
    raw, shown = found.groups()
    value = json.loads(raw) if raw.startswith("{") else raw
    assert m.mask_field(field, value) == (None if shown == "null" else shown)
