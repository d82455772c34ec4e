"""What of an erased customer's records stays (the right to be forgotten).

Erasure keeps the anonymous business facts — ids, channels, dates, consultants,
campaigns, grades' inputs, an organisation's size and share — and drops
everything about the person: name, phone, email, ID number, birthday,
addresses, occupation, company and job title, free text about them (notes, the
purpose of the visit, where they come from, who received them), the complaint's
own words, the people named around them (informant, referrer's phone).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Card fields that describe an organisation's size and standing, not a person
# (grading's size band and share stability come from them); the rest of the card goes.
KEPT_CARD_FIELDS: tuple[str, ...] = ("kind", "counterpart_role", "industry", "annual_revenue", "market_share_pct")

# A contact's facts that are about the sale, not the person (the traffic log without name,
# phone, email and the free text — notes, purpose, region, receptionist; the channel's own ids).
KEPT_CONTACT_FIELDS: tuple[str, ...] = (
    "channel", "occurred_at", "customer_kind", "party_size",
    "initial_grade", "consultant_id", "product_interest", "purchase_timeframe", "budget", "campaign",
    "callback_requested_at", "counterpart_role", "call_id", "prospecting_method", "target_segment",
    "referral_kind", "referrer_customer_id", "informant_kind", "referring_staff_id", "staff_relation",
    "service_station", "import_batch", "source_row",
)

ERASED_RESPONSE = {"erased": True}  # what a stored answer that held personal data replays as


def erased_card(card: Mapping[str, Any]) -> dict[str, Any]:
    """The card of an erased customer: the organisation's facts only."""
    return {k: card[k] for k in KEPT_CARD_FIELDS if k in card}


def erased_contact(details: Mapping[str, Any]) -> dict[str, Any]:
    """A stored contact of an erased customer: the sale's facts only."""
    return {k: details[k] for k in KEPT_CONTACT_FIELDS if k in details}


def kept_history_value(field: str) -> bool:
    """Does the card history keep the old and new values of this field after erasure?"""
    return field in KEPT_CARD_FIELDS
