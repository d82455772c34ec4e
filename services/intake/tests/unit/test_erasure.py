"""What of an erased customer's records stays: the organisation's and the sale's facts only."""
from decimal import Decimal

from services.intake.domain.contacts import ContactIn
from services.intake.domain.customers import CARD_FIELDS, CustomerCard
from services.intake.domain.erasure import (
    KEPT_CARD_FIELDS,
    KEPT_CONTACT_FIELDS,
    erased_card,
    erased_contact,
    kept_history_value,
)
from shared.masking import PERSONAL_FIELDS as PII_FIELD_KINDS


def test_an_erased_card_keeps_the_organisations_facts_and_nothing_about_the_person():
    card = CustomerCard(kind="business", company="恒通贸易", industry="logistics", annual_revenue=Decimal("3000000"),
                        market_share_pct=Decimal("62.5"), name="张三", phone="13800138000", email="z@example.com",
                        birthday="1990-05-01", home_address="上海市浦东新区世纪大道100号", occupation="manager")
    kept = erased_card(card.model_dump(mode="json"))
    assert kept == {"kind": "business", "counterpart_role": None, "industry": "logistics",
                    "annual_revenue": "3000000", "market_share_pct": "62.5"}
    assert CustomerCard.model_validate(kept).annual_revenue == Decimal("3000000")  # still a valid card
    assert not set(KEPT_CARD_FIELDS) & set(PII_FIELD_KINDS) and set(KEPT_CARD_FIELDS) <= set(CARD_FIELDS)
    assert not kept_history_value("birthday") and kept_history_value("annual_revenue")


def test_an_erased_contact_keeps_the_sale_and_drops_the_person_and_the_people_named():
    contact = ContactIn(channel="customer_referral", name="李四", phone="13900139000", email="l@example.com",
                        notes="带家人", region="上海", purchase_timeframe="within_7_days", consultant_id="c-1",
                        referral_kind="recommendation", referrer_phone="13800138000", company="某公司",
                        job_title="经理")
    kept = erased_contact(contact.model_dump(mode="json", exclude_none=True))
    assert kept == {"channel": "customer_referral", "customer_kind": "consumer",
                    "purchase_timeframe": "within_7_days", "consultant_id": "c-1", "referral_kind": "recommendation"}
    assert set(KEPT_CONTACT_FIELDS) <= set(ContactIn.model_fields)
    assert not {"name", "phone", "email", "notes", "referrer_phone", "informant_name", "company", "job_title",
                "purpose", "region", "receptionist"} & set(KEPT_CONTACT_FIELDS)


def test_nothing_the_masking_catalogue_calls_personal_is_kept():
    """Free text about the person (purpose, region, receptionist, notes) goes with the rest."""
    contact = ContactIn(channel="walk_in", name="李四", phone="13900139000", purpose="看七座车, 下周提车",
                        region="浦东新区", receptionist="前台小王", party_size=3, notes="带家人")
    kept = erased_contact(contact.model_dump(mode="json", exclude_none=True))
    assert kept == {"channel": "walk_in", "customer_kind": "consumer", "party_size": 3}
    assert not set(KEPT_CONTACT_FIELDS) & set(PII_FIELD_KINDS)
    assert not set(KEPT_CARD_FIELDS) & set(PII_FIELD_KINDS)
