"""The customer information card (客户信息卡) and its history (动态管理).

The card holds the stable data of one customer. Every change is recorded as a
``FieldChange`` (field, old value, new value, time) computed by ``diff_card``,
so the card as of any past time can be rebuilt with ``card_as_of``. Two cards
of the same person are joined by ``merge_cards``; ``merge_histories`` keeps
both histories. Purchases, service visits, spend and loyalty are derived from
events by the other services and are not duplicated here.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.events.enums import CounterpartRole, CustomerKind

from .errors import DomainValidationError
from .identity import OptEmail, OptPhone
from .text import OptLongText, OptName, OptShortText, clean_text


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a resident ID's first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_resident_id(raw: str, *, field: str = "id_number") -> str:
    """A mainland 18-digit resident ID (居民身份证号码), upper-case X; raises if invalid.

    Checks: 17 digits + digit/X, a real birth date (YYYYMMDD at positions 7-14,
    year >= 1900) and the MOD 11-2 check character.
    """
    text = raw.strip().upper() if isinstance(raw, str) else ""
    if len(text) != 18 or not text[:17].isdigit() or not text[:17].isascii():
        raise DomainValidationError(field, "must be 18 characters: 17 digits and a digit or X")
    if not (text[17].isdigit() and text[17].isascii()) and text[17] != "X":
        raise DomainValidationError(field, "must be 18 characters: 17 digits and a digit or X")
    if id_number_birth_date(text) is None:
        raise DomainValidationError(field, "contains an impossible birth date")
    if id_number_check_char(text[:17]) != text[17]:
        raise DomainValidationError(field, "check digit does not match")
    return text


def id_number_birth_date(id_number: str) -> date | None:
    """The birth date encoded in an 18-digit ID, or None if it is not a real date."""
    try:
        born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None
    return born if born.year >= 1900 else None


def _resident_id(value: Any) -> Any:
    value = clean_text(value)
    if value is None or value == "":
        return None
    try:
        return validate_resident_id(value)
    except DomainValidationError as exc:
        raise PydanticCustomError("invalid_id_number", exc.message) from None


def _postcode(value: Any) -> Any:
    value = clean_text(value)
    if value is None or value == "":
        return None
    if not (isinstance(value, str) and len(value) == 6 and value.isdigit() and value.isascii()):
        raise PydanticCustomError("invalid_postcode", "must be a 6-digit postcode")
    return value


def _birthday(value: date | None) -> date | None:
    if value is not None and value.year < 1900:
        raise PydanticCustomError("invalid_birthday", "must not be before 1900")
    return value


IdNumber = Annotated[str | None, BeforeValidator(_resident_id)]
Postcode = Annotated[str | None, BeforeValidator(_postcode)]
Birthday = Annotated[date | None, AfterValidator(_birthday)]

BUSINESS_ONLY_FIELDS = ("counterpart_role", "annual_revenue", "market_share_pct")


class CustomerCard(BaseModel):
    """客户信息卡: the stable data of one customer (JSON field names are the contract)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: CustomerKind = CustomerKind.CONSUMER
    # organisations (商业型客户)
    counterpart_role: CounterpartRole | None = None
    company: OptShortText = None
    industry: OptShortText = None
    annual_revenue: Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)] | None = None
    market_share_pct: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)] | None = (
        Field(default=None, description="Our share of the customer's purchases, percent 0-100.")
    )
    # person (车主信息)
    name: OptName = None
    gender: Gender | None = None
    id_number: IdNumber = None
    occupation: OptShortText = None
    birthday: Birthday = None
    home_address: OptLongText = None
    home_postcode: Postcode = None
    work_address: OptLongText = None
    work_postcode: Postcode = None
    phone: OptPhone = None
    email: OptEmail = None
    # changing data (动态管理) kept on the card; the rest lives in other services
    usage_class: OptShortText = Field(default=None, description="Mileage or usage class.")
    membership_level: OptShortText = None

    @model_validator(mode="after")
    def _check(self) -> CustomerCard:
        problems: list[tuple[str, str, str]] = []
        if self.kind is not CustomerKind.BUSINESS:
            for name in BUSINESS_ONLY_FIELDS:
                if getattr(self, name) is not None:
                    problems.append((name, "not_for_kind", "only allowed for kind business"))
        if self.id_number and self.birthday and id_number_birth_date(self.id_number) != self.birthday:
            problems.append(
                ("birthday", "birthday_mismatch", "does not match the birth date in id_number")
            )
        if problems:
            raise ValidationError.from_exception_data(
                "CustomerCard",
                [
                    InitErrorDetails(
                        type=PydanticCustomError(kind, msg), loc=(field,), input=getattr(self, field)
                    )
                    for field, kind, msg in problems
                ],
            )
        return self


CARD_FIELDS: tuple[str, ...] = tuple(CustomerCard.model_fields)


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One recorded change of one card field; ``old`` is None when first set."""

    field: str
    old: Any
    new: Any
    changed_at: datetime
    source_customer_id: uuid.UUID | None = None  # set on history merged from another record

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "old": _json_value(self.old),
            "new": _json_value(self.new),
            "changed_at": self.changed_at.isoformat(),
            "source_customer_id": str(self.source_customer_id) if self.source_customer_id else None,
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


def diff_card(old: CustomerCard | None, new: CustomerCard, *, at: datetime) -> list[FieldChange]:
    """Every field whose value differs, in card field order; ``old=None`` is creation.

    ``at`` (timezone-aware) is the business time of the change.
    """
    if at.tzinfo is None:
        raise DomainValidationError("changed_at", "must carry a time zone")
    changes = []
    for name in CARD_FIELDS:
        before = getattr(old, name) if old is not None else None
        after = getattr(new, name)
        if old is None and name == "kind":
            changes.append(FieldChange(name, None, after, at))
        elif before != after:
            changes.append(FieldChange(name, before, after, at))
    return changes


def card_as_of(history: list[FieldChange], at: datetime) -> CustomerCard | None:
    """Rebuild the card from its history as it was at ``at`` (None before creation).

    Changes are applied in ``changed_at`` order (stable for equal times). Changes
    carried over from a merged record (``source_customer_id`` set) are audit
    history only: the merge's own effect is recorded as ordinary changes
    (``diff_card(survivor, merged_card, at=...)``).
    """
    values: dict[str, Any] = {}
    seen = False
    own = (c for c in history if c.source_customer_id is None)
    for change in sorted(own, key=lambda c: c.changed_at):
        if change.changed_at > at:
            break
        seen = True
        values[change.field] = change.new
    if not seen:
        return None
    return CustomerCard.model_validate({k: v for k, v in values.items() if v is not None})


@dataclass(frozen=True, slots=True)
class MergeConflict:
    """Both records had a different value; the survivor's was kept."""

    field: str
    kept: Any
    discarded: Any


def merge_cards(
    survivor: CustomerCard, merged: CustomerCard
) -> tuple[CustomerCard, list[MergeConflict]]:
    """Join ``merged`` into ``survivor``: survivor values win, gaps are filled.

    A field empty on the survivor takes the merged record's value; a field set
    on both with different values keeps the survivor's and is reported as a
    conflict (the discarded phone/email stay identity keys of the survivor:
    the runtime re-points the merged customer's keys). Kind-specific fields of
    a business record are not copied into a non-business survivor (reported).
    """
    values = survivor.model_dump()
    conflicts: list[MergeConflict] = []
    for name in CARD_FIELDS:
        mine, theirs = getattr(survivor, name), getattr(merged, name)
        if theirs is None or mine == theirs:
            continue
        if name == "kind":
            if mine != theirs:
                conflicts.append(MergeConflict(name, mine, theirs))
            continue
        if mine is None:
            if name in BUSINESS_ONLY_FIELDS and survivor.kind is not CustomerKind.BUSINESS:
                conflicts.append(MergeConflict(name, None, theirs))
                continue
            values[name] = theirs
        else:
            conflicts.append(MergeConflict(name, mine, theirs))
    birth = values.get("birthday")
    if values.get("id_number") and birth and id_number_birth_date(values["id_number"]) != birth:
        # keep the survivor's consistent pair; drop the filled-in one
        filled = "birthday" if survivor.birthday is None else "id_number"
        conflicts.append(MergeConflict(filled, getattr(survivor, filled), values[filled]))
        values[filled] = getattr(survivor, filled)
    return CustomerCard.model_validate(values), conflicts


def merge_histories(
    survivor_history: list[FieldChange],
    merged_history: list[FieldChange],
    *,
    merged_customer_id: uuid.UUID,
) -> list[FieldChange]:
    """Both histories in one list ordered by time; the merged one tagged with its id."""
    tagged = [
        c if c.source_customer_id else FieldChange(c.field, c.old, c.new, c.changed_at, merged_customer_id)
        for c in merged_history
    ]
    return sorted([*survivor_history, *tagged], key=lambda c: c.changed_at)


__all__ = [
    "CARD_FIELDS",
    "CustomerCard",
    "FieldChange",
    "Gender",
    "MergeConflict",
    "card_as_of",
    "diff_card",
    "id_number_birth_date",
    "id_number_check_char",
    "merge_cards",
    "merge_histories",
    "validate_resident_id",
]
