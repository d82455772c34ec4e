"""A contact from any channel (客户开发 / 潜在客户开发的来源).

One model, ``ContactIn``, with ``channel`` plus a few channel-specific optional
fields; the rules per channel are in ``CHANNEL_RULES`` and enforced by a model
validator that reports every problem under the field's own name. The JSON a
user posts is flat, e.g.::

    {"channel": "walk_in", "name": "张三", "phone": "138 0013 8000",
     "occurred_at": "2024-05-01T10:00:00+08:00", "party_size": 2,
     "receptionist": "R01", "initial_grade": "B", "consultant_id": "C007"}

    {"channel": "customer_referral", "phone": "13900139000",
     "referral_kind": "recommendation", "referrer_phone": "13800138000"}

Every contact carries the showroom traffic log fields (展厅来电(店)客户登记记录表):
time, name, phone, region, purpose of visit, party size, receptionist, initial
intent grade (H/A/B/C), assigned consultant — plus email, product of interest,
purchase time frame, budget, campaign and notes. At least one of phone/email is
required (they are the identity keys). Phone and email are normalised on input.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.business_time import HappenedAt, PlannedAt, business_day, is_history
from shared.events.enums import Channel, CounterpartRole, CustomerKind, IntentGrade, PurchaseTimeframe
from shared.events.contract import ContactReceived

from .errors import DomainValidationError
from .identity import IdentityKey, KeyKind, OptEmail, OptPhone
from .text import OptIdentifier, OptLongText, OptName, OptShortText

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]


class ReferralKind(StrEnum):
    """What a base customer's referral is about (基盘: 汰换/增购/推介)."""

    REPLACEMENT = "replacement"  # 汰换: the base customer replaces their product
    ADDITIONAL_PURCHASE = "additional_purchase"  # 增购: buys one more
    RECOMMENDATION = "recommendation"  # 推介: recommends somebody else


class InformantKind(StrEnum):
    """Who a VIP informant is (VIP情报)."""

    LOCAL_NOTABLE = "local_notable"  # 地方名人
    PARTNER_FIRM = "partner_firm"  # 关系企业
    LOYAL_CUSTOMER = "loyal_customer"  # 对经销店好意度高的客户
    USED_CAR_DEALER = "used_car_dealer"  # 二手车行
    REPAIR_SHOP = "repair_shop"  # 修理厂
    OTHER = "other"


class ProspectingMethod(StrEnum):
    """How targeted prospecting (特定开拓) reached the person."""

    MAIL = "mail"  # DM
    PHONE = "phone"
    VISIT = "visit"


class StaffRelation(StrEnum):
    """Internal referral (内部情报): the staff member themself or a relative."""

    SELF = "self"
    RELATIVE = "relative"
    ACQUAINTANCE = "acquaintance"


@dataclass(frozen=True)
class ChannelRule:
    """``required``: every field must be given; ``one_of``: at least one of them."""

    required: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()


CHANNEL_RULES: dict[Channel, ChannelRule] = {
    Channel.WALK_IN: ChannelRule(),
    Channel.PHONE: ChannelRule(),
    Channel.WEB_FORM: ChannelRule(),
    Channel.CALL_CENTER: ChannelRule(required=("call_id",)),
    Channel.EXHIBITION: ChannelRule(required=("campaign",)),
    Channel.TARGETED_PROSPECTING: ChannelRule(required=("prospecting_method",)),
    Channel.AREA_CAMPAIGN: ChannelRule(required=("campaign",)),
    Channel.CUSTOMER_REFERRAL: ChannelRule(
        required=("referral_kind",), one_of=("referrer_customer_id", "referrer_phone")
    ),
    Channel.VIP_INFORMANT: ChannelRule(required=("informant_kind", "informant_name")),
    Channel.INTERNAL_REFERRAL: ChannelRule(required=("referring_staff_id",)),
    Channel.SERVICE_STATION: ChannelRule(required=("service_station",)),
    Channel.BULK_IMPORT: ChannelRule(required=("import_batch",)),
}
"""What each channel requires beyond phone-or-email."""

CHANNEL_ONLY_FIELDS: dict[str, frozenset[Channel]] = {
    "call_id": frozenset({Channel.CALL_CENTER}),
    "prospecting_method": frozenset({Channel.TARGETED_PROSPECTING}),
    "target_segment": frozenset({Channel.TARGETED_PROSPECTING}),
    "referral_kind": frozenset({Channel.CUSTOMER_REFERRAL}),
    "referrer_customer_id": frozenset({Channel.CUSTOMER_REFERRAL}),
    "referrer_phone": frozenset({Channel.CUSTOMER_REFERRAL}),
    "informant_kind": frozenset({Channel.VIP_INFORMANT}),
    "informant_name": frozenset({Channel.VIP_INFORMANT}),
    "referring_staff_id": frozenset({Channel.INTERNAL_REFERRAL}),
    "staff_relation": frozenset({Channel.INTERNAL_REFERRAL}),
    "service_station": frozenset({Channel.SERVICE_STATION}),
    "import_batch": frozenset({Channel.BULK_IMPORT, Channel.EXHIBITION}),
    "source_row": frozenset({Channel.BULK_IMPORT, Channel.EXHIBITION}),
}
"""Fields that make sense only for some channels; elsewhere they are rejected."""


def channel_rules_markdown() -> str:
    """The channel rules as the API documentation shows them (from CHANNEL_RULES and
    CHANNEL_ONLY_FIELDS, so the text cannot drift from what is enforced)."""
    lines = ["**Channel rules.** Every contact gives a `phone` or an `email` (or both). Beyond that:", "",
             "| channel | requires | and one of |", "| --- | --- | --- |"]
    for channel, rule in CHANNEL_RULES.items():
        required = ", ".join(f"`{f}`" for f in rule.required) or "–"
        one_of = ", ".join(f"`{f}`" for f in rule.one_of) or "–"
        lines.append(f"| `{channel.value}` | {required} | {one_of} |")
    lines += ["", "Fields only some channels may send (elsewhere a 422 names them):", ""]
    for name, channels in CHANNEL_ONLY_FIELDS.items():
        lines.append(f"- `{name}`: " + ", ".join(f"`{c.value}`" for c in sorted(channels, key=lambda c: c.value)))
    lines += ["", "`customer_kind: business` requires `company`; `counterpart_role` is only for business "
              "customers; a recommendation cannot name the contact's own phone as `referrer_phone`."]
    return "\n".join(lines)


class ContactIn(BaseModel):
    """One contact (one touch) as posted to ``POST /v1/contacts``."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"channel": "walk_in", "name": "张三", "phone": "138 0013 8000", "occurred_at": "2026-05-01T10:00:00+08:00",
         "party_size": 2, "receptionist": "R01", "initial_grade": "B", "consultant_id": "c-007",
         "purchase_timeframe": "1_to_3_months"},
        {"channel": "exhibition", "campaign": "2026 spring motor show", "phone": "13900139000"},
        {"channel": "customer_referral", "phone": "13900139000", "referral_kind": "recommendation",
         "referrer_phone": "13800138000"}]})

    channel: Channel
    occurred_at: HappenedAt | None = Field(
        default=None, description="When the contact happened; the receipt time if omitted."
    )
    customer_kind: CustomerKind = CustomerKind.CONSUMER
    # Showroom traffic log (展厅来电(店)客户登记记录表)
    name: OptName = None
    phone: OptPhone = Field(default=None, description="Any spelling; stored as E.164.")
    email: OptEmail = None
    region: OptShortText = None
    purpose: OptLongText = Field(default=None, description="Purpose of the visit or call.")
    party_size: int | None = Field(default=None, ge=1, le=1000)
    receptionist: OptShortText = None
    initial_grade: IntentGrade | None = None
    consultant_id: OptShortText = Field(default=None, description="Assigned consultant.")
    product_interest: OptShortText = None
    purchase_timeframe: PurchaseTimeframe | None = None
    budget: Money | None = None
    campaign: OptShortText = None
    notes: OptLongText = None
    callback_requested_at: PlannedAt | None = None
    # Business card / organisation
    company: OptShortText = None
    job_title: OptShortText = None
    counterpart_role: CounterpartRole | None = None
    # Channel-specific (see CHANNEL_RULES / CHANNEL_ONLY_FIELDS)
    call_id: OptIdentifier = None
    prospecting_method: ProspectingMethod | None = None
    target_segment: OptShortText = Field(default=None, description="Industry or trade targeted.")
    referral_kind: ReferralKind | None = None
    referrer_customer_id: uuid.UUID | None = None
    referrer_phone: OptPhone = None
    informant_kind: InformantKind | None = None
    informant_name: OptName = None
    referring_staff_id: OptShortText = None
    staff_relation: StaffRelation | None = None
    service_station: OptShortText = None
    import_batch: OptShortText = None
    source_row: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check_channel_rules(self) -> ContactIn:
        problems: list[tuple[str, str, str]] = []  # (field, error type, message)
        if self.phone is None and self.email is None:
            problems.append(("phone", "missing_identity", "give a phone or an email (at least one)"))
        rule = CHANNEL_RULES[self.channel]
        for name in rule.required:
            if getattr(self, name) is None:
                problems.append((name, "missing", f"required for channel {self.channel.value}"))
        if rule.one_of and all(getattr(self, n) is None for n in rule.one_of):
            problems.append(
                (
                    rule.one_of[0],
                    "missing",
                    f"one of {', '.join(rule.one_of)} is required for channel {self.channel.value}",
                )
            )
        for name, channels in CHANNEL_ONLY_FIELDS.items():
            if getattr(self, name) is not None and self.channel not in channels:
                allowed = ", ".join(sorted(c.value for c in channels))
                problems.append((name, "not_for_channel", f"only allowed for channel {allowed}"))
        if (
            self.referral_kind is ReferralKind.RECOMMENDATION
            and self.referrer_phone is not None
            and self.referrer_phone == self.phone
        ):
            problems.append(
                ("referrer_phone", "self_referral", "a customer cannot recommend themselves")
            )
        if self.counterpart_role is not None and self.customer_kind is not CustomerKind.BUSINESS:
            problems.append(
                ("counterpart_role", "not_for_kind", "only allowed for customer_kind business")
            )
        if self.customer_kind is CustomerKind.BUSINESS and self.company is None:
            problems.append(("company", "missing", "required for customer_kind business"))
        if problems:
            raise ValidationError.from_exception_data(
                "ContactIn",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(kind, message),
                        loc=(field,),
                        input=getattr(self, field),
                    )
                    for field, kind, message in problems
                ],
            )
        return self

    def identity_keys(self) -> tuple[IdentityKey, ...]:
        """The registry lookup keys of this contact (phone first). The fields went through the
        ``OptPhone``/``OptEmail`` validators, so they are normalised already: normalising them again
        (``identity.identity_keys``) would cost a phone-number parse per contact for nothing."""
        keys = []
        if self.phone:
            keys.append(IdentityKey(KeyKind.PHONE, self.phone))
        if self.email:
            keys.append(IdentityKey(KeyKind.EMAIL, self.email))
        return tuple(keys)


def resolve_occurred_at(
    contact: ContactIn, received_at: datetime, max_clock_skew: timedelta = timedelta(minutes=5)
) -> datetime:
    """The business time of a contact: ``occurred_at``, or the receipt time if omitted.

    A contact dated in the future (beyond ``max_clock_skew``) is rejected.
    """
    if contact.occurred_at is None:
        return received_at
    if contact.occurred_at > received_at + max_clock_skew:
        raise DomainValidationError("occurred_at", "must not be in the future")
    return contact.occurred_at


def taken_over_from_history(occurred_at: datetime, historical_before: datetime | None) -> bool:
    """A contact that happened on a business day before the batch's cut-off is history taken over from
    an earlier system (domain §8, shared.business_time.is_history); without a cut-off every contact is live."""
    return historical_before is not None and is_history(business_day(occurred_at), historical_before)


def to_contact_received(
    contact: ContactIn,
    *,
    contact_id: uuid.UUID,
    is_new_customer: bool,
    referrer_customer_id: uuid.UUID | None = None,
    historical: bool = False,
) -> ContactReceived:
    """The canonical ``contact-received`` payload (the latest version) for an accepted contact.

    ``referrer_customer_id`` is the referrer resolved by the runtime (from
    ``referrer_phone``); it defaults to the id the contact gave. The fields a
    channel adds (company, referral kind, informant, call id, import row, ...)
    go in ``channel_details``; ``notes`` is the free text alone. (Version 1 had
    no place for them and appended them to ``notes`` as ``key: value`` lines;
    shared.events.upcasters moves them back out for readers.) ``referrer_phone``
    is never carried: it is always resolved into ``referrer_customer_id``, and
    the referrer's phone (another person's data, sealed with this customer's
    key) would outlive the referrer's own erasure.
    """
    details = dict(_extras(contact))
    return ContactReceived(
        contact_id=contact_id,
        channel=contact.channel,
        is_new_customer=is_new_customer,
        customer_kind=contact.customer_kind,
        name=contact.name,
        phone=contact.phone,
        email=contact.email,
        region=contact.region,
        purpose=contact.purpose,
        party_size=contact.party_size,
        receptionist=contact.receptionist,
        initial_grade=contact.initial_grade,
        consultant_id=contact.consultant_id,
        product_interest=contact.product_interest,
        purchase_timeframe=contact.purchase_timeframe,
        budget=contact.budget,
        campaign=contact.campaign,
        referrer_customer_id=referrer_customer_id or contact.referrer_customer_id,
        notes=contact.notes,
        channel_details=details or None,
        historical=historical,
    )


# The channel's own fields (``channel_details``). Version 1 appended these very fields to notes
# in this order; shared.events.upcasters.CONTACT_V1_NOTE_FIELDS keeps that history frozen.
_EXTRA_FIELDS = (
    "company",
    "job_title",
    "counterpart_role",
    "call_id",
    "prospecting_method",
    "target_segment",
    "referral_kind",
    "informant_kind",
    "informant_name",
    "referring_staff_id",
    "staff_relation",
    "service_station",
    "import_batch",
    "source_row",
    "callback_requested_at",
)


def _extras(contact: ContactIn) -> list[tuple[str, Any]]:
    out = []
    for name in _EXTRA_FIELDS:
        value = getattr(contact, name)
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, StrEnum):
            value = value.value
        out.append((name, value))
    return out
