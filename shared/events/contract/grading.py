"""Events grading produces: intent grades and customer value."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from ..enums import IntentGrade
from ..envelope import EventPayload
from .types import Money, ShortText, Text


class ProspectGraded(EventPayload):
    """The prospect's intent grade changed (up or down), with its cause."""

    EVENT_TYPE: ClassVar[str] = "prospect-graded"
    VERSION: ClassVar[int] = 1

    grade: IntentGrade
    previous_grade: IntentGrade | None = None
    rule: ShortText  # which rule decided, e.g. "timeframe", "deposit", "override"
    cause_event_id: uuid.UUID | None = None
    overridden_by: ShortText | None = None
    reason: Text | None = None
    policy_version: ShortText
    consultant_id: ShortText | None = None


class CustomerValued(EventPayload):
    """The customer's value grading (客户价值) changed."""

    EVENT_TYPE: ClassVar[str] = "customer-valued"
    VERSION: ClassVar[int] = 1

    pyramid_tier: ShortText | None = None
    management_class: ShortText | None = None
    credit_grade: ShortText | None = None
    size_band: ShortText | None = None
    share_stability: ShortText | None = None  # from the card's market share; None when unknown
    loyalty_score: Decimal | None = Field(default=None, ge=0, le=100)
    loyalty_stage: ShortText | None = None
    order_class: int | None = Field(default=None, ge=1, le=8)
    key_account_class: ShortText | None = None
    lifecycle_stage: ShortText | None = None
    in_decline: bool = False
    decline_signals: list[ShortText] = Field(default_factory=list, max_length=10)
    lifetime_profit: Money | None = None  # NPV of the customer's gross profit
    gross_profit: Money | None = None  # undiscounted: what the pyramid ranks by (referral gains included)
    # undiscounted: the share of the gross profit of deals by customers it referred (推荐收益); in gross_profit
    referral_gains: Money | None = None
    purchases: int | None = Field(default=None, ge=0)
    policy_version: ShortText
    cause_event_id: uuid.UUID | None = None  # the event that led to this valuation, if any
