import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.intake.domain.customers import (
    CustomerCard,
    FieldChange,
    MergeConflict,
    card_as_of,
    diff_card,
    id_number_check_char,
    merge_cards,
    merge_histories,
    validate_resident_id,
)
from services.intake.domain.errors import DomainValidationError
from shared.events.enums import CounterpartRole, CustomerKind

VALID_ID = "11010519491231002X"  # the well-known sample number (check character X)
T0 = datetime(2024, 1, 1, 9, tzinfo=UTC)


def make_id(first17: str) -> str:
    return first17 + id_number_check_char(first17)


def test_resident_id_checksum():
    assert validate_resident_id(VALID_ID) == VALID_ID
    assert validate_resident_id(VALID_ID.lower()) == VALID_ID
    assert validate_resident_id(make_id("44030419900101123")).endswith(id_number_check_char("44030419900101123"))


@pytest.mark.parametrize(
    "raw",
    ["110105194912310021",  # wrong check digit
     "11010519491231002",  # 17 characters
     "1101051949123100XX",
     "110105194913310029",  # month 13 (checksum irrelevant)
     "11010518001231002X",  # year 1800
     "１１０１０５１９４９１２３１００２Ｘ",  # full-width
     ""],
)
def test_invalid_resident_ids(raw):
    with pytest.raises(DomainValidationError) as info:
        validate_resident_id(raw)
    assert info.value.field == "id_number"


def test_card_validation_names_fields():
    with pytest.raises(ValidationError) as info:
        CustomerCard.model_validate(
            {"id_number": "110105194912310021", "home_postcode": "12345", "phone": "1",
             "email": "x@", "gender": "robot"}
        )
    locs = {e["loc"][0] for e in info.value.errors()}
    assert locs == {"id_number", "home_postcode", "phone", "email", "gender"}


def test_birthday_must_match_id_number():
    CustomerCard(id_number=VALID_ID, birthday=date(1949, 12, 31))
    with pytest.raises(ValidationError) as info:
        CustomerCard(id_number=VALID_ID, birthday=date(1950, 1, 1))
    assert info.value.errors()[0]["loc"] == ("birthday",)


def test_business_fields_only_for_business():
    card = CustomerCard(kind=CustomerKind.BUSINESS, counterpart_role=CounterpartRole.SUPPLIER,
                        company="恒通贸易", industry="物流", annual_revenue=Decimal("6000000"),
                        market_share_pct=Decimal("85.5"))
    assert card.counterpart_role is CounterpartRole.SUPPLIER
    with pytest.raises(ValidationError) as info:
        CustomerCard(kind=CustomerKind.CONSUMER, annual_revenue=Decimal("1"))
    assert info.value.errors()[0]["loc"] == ("annual_revenue",)
    with pytest.raises(ValidationError) as info:
        CustomerCard(kind=CustomerKind.BUSINESS, market_share_pct=Decimal("101"))
    assert info.value.errors()[0]["loc"] == ("market_share_pct",)


def test_card_normalises_contact_data():
    card = CustomerCard.model_validate({"phone": "0086 13800138000", "email": "A@B.CN",
                                        "name": " 张三 ", "home_postcode": "200120"})
    assert (card.phone, card.email, card.name) == ("+8613800138000", "a@b.cn", "张三")


def test_diff_card_creation_and_changes():
    first = CustomerCard(name="张三", phone="13800138000")
    created = diff_card(None, first, at=T0)
    assert [(c.field, c.old, c.new) for c in created] == [
        ("kind", None, CustomerKind.CONSUMER), ("name", None, "张三"), ("phone", None, "+8613800138000")]
    assert all(c.changed_at == T0 for c in created)

    later = T0 + timedelta(days=30)
    second = first.model_copy(update={"phone": "+8613900139000", "occupation": "教师"})
    changes = diff_card(first, second, at=later)
    assert changes == [
        FieldChange("occupation", None, "教师", later),
        FieldChange("phone", "+8613800138000", "+8613900139000", later),
    ]
    assert diff_card(second, second, at=later) == []
    assert changes[1].to_json() == {"field": "phone", "old": "+8613800138000", "new": "+8613900139000",
                                    "changed_at": later.isoformat(), "source_customer_id": None}


def test_diff_card_requires_aware_time():
    with pytest.raises(DomainValidationError):
        diff_card(None, CustomerCard(), at=datetime(2024, 1, 1))


def test_card_as_of_rebuilds_past_states():
    v1 = CustomerCard(name="张三", phone="13800138000")
    v2 = v1.model_copy(update={"phone": "+8613900139000"})
    v3 = v2.model_copy(update={"name": None, "email": "z@x.cn"})
    t1, t2, t3 = T0, T0 + timedelta(days=1), T0 + timedelta(days=2)
    history = diff_card(None, v1, at=t1) + diff_card(v1, v2, at=t2) + diff_card(v2, v3, at=t3)
    assert card_as_of(history, t1 - timedelta(seconds=1)) is None
    assert card_as_of(history, t1) == v1
    assert card_as_of(history, t2 + timedelta(hours=1)) == v2
    assert card_as_of(history, t3) == v3


def test_merge_cards_fills_gaps_and_reports_conflicts():
    survivor = CustomerCard(name="张三", phone="13800138000", occupation="教师")
    merged = CustomerCard(name="张叁", phone="13900139000", email="z@x.cn",
                          id_number=VALID_ID, home_address="上海市浦东新区世纪大道1号")
    card, conflicts = merge_cards(survivor, merged)
    assert card.name == "张三" and card.phone == "+8613800138000" and card.occupation == "教师"
    assert card.email == "z@x.cn" and card.id_number == VALID_ID
    assert card.home_address == "上海市浦东新区世纪大道1号"
    assert conflicts == [MergeConflict("name", "张三", "张叁"),
                         MergeConflict("phone", "+8613800138000", "+8613900139000")]


def test_merge_cards_kind_and_business_fields():
    survivor = CustomerCard(name="李四")
    merged = CustomerCard(kind=CustomerKind.BUSINESS, company="恒通", annual_revenue=Decimal("10"))
    card, conflicts = merge_cards(survivor, merged)
    assert card.kind is CustomerKind.CONSUMER and card.company == "恒通"
    assert card.annual_revenue is None
    assert {c.field for c in conflicts} == {"kind", "annual_revenue"}


def test_merge_cards_keeps_id_and_birthday_consistent():
    survivor = CustomerCard(birthday=date(1990, 1, 1))
    merged = CustomerCard(id_number=VALID_ID)
    card, conflicts = merge_cards(survivor, merged)
    assert card.birthday == date(1990, 1, 1) and card.id_number is None
    assert conflicts == [MergeConflict("id_number", None, VALID_ID)]


def test_merge_is_identity_with_itself():
    card = CustomerCard(name="王五", phone="13800138000", email="w@x.cn")
    assert merge_cards(card, card) == (card, [])


def test_merge_histories_keeps_both_and_rebuild_uses_own_history():
    merged_id = uuid.uuid4()
    a = CustomerCard(name="张三", phone="13800138000")
    b = CustomerCard(name="张叁", email="z@x.cn")
    ha = diff_card(None, a, at=T0)
    hb = diff_card(None, b, at=T0 + timedelta(hours=1))
    card, _ = merge_cards(a, b)
    merge_time = T0 + timedelta(days=1)
    history = merge_histories(ha, hb, merged_customer_id=merged_id) + diff_card(a, card, at=merge_time)
    assert len(history) == len(ha) + len(hb) + 1
    tagged = [c for c in history if c.source_customer_id is not None]
    assert len(tagged) == len(hb) and {c.source_customer_id for c in tagged} == {merged_id}
    assert [c.changed_at for c in history] == sorted(c.changed_at for c in history)
    assert card_as_of(history, merge_time - timedelta(seconds=1)) == a
    assert card_as_of(history, merge_time) == card
