"""Events grading produces: intent grades and customer value."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..enums import IntentGrade
from ..envelope import EventPayload
from .types import Money, ShortText, Text


class _GradeFields(EventPayload):
    """The current grade and its cause: what every version of `prospect-graded` has."""

    grade: IntentGrade
    previous_grade: IntentGrade | None = None
    rule: ShortText  # which rule decided, e.g. "timeframe", "deposit", "override"
    cause_event_id: uuid.UUID | None = None
    overridden_by: ShortText | None = None
    policy_version: ShortText
    consultant_id: ShortText | None = None


class ProspectGradedV1(_GradeFields):
    """The prospect's intent grade changed (up or down), with its cause."""

    EVENT_TYPE: ClassVar[str] = "prospect-graded"
    VERSION: ClassVar[int] = 1

    reason: Text | None = None  # an override's reason


class GradeStep(BaseModel):
    """One change in a prospect's grade history: to which grade (None: lost) and status, by which
    rule, when it happened in the business, caused by which event, overridden by whom."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    grade: IntentGrade | None = None
    previous_grade: IntentGrade | None = None
    status: ShortText
    rule: ShortText
    at: AwareDatetime
    cause_event_id: uuid.UUID | None = None
    overridden_by: ShortText | None = None


class ProspectGraded(_GradeFields):
    """The prospect's intent grade (有望客户级别) or its history changed.

    Version 2 carries the whole history as grading now knows it: grading replays a prospect's
    facts, so a fact that arrives late (a contact delivered after the deal it led to) rewrites
    the history, and grading publishes the rewritten one although the current grade may not
    have changed. A reader keeps the history of the latest `revision` and drops earlier ones.
    Version 1 had only the change (readers get it upcast with an empty history: append it), and
    the override's reason as `reason`, in plaintext; it is `override_reason` now, sealed.
    """

    EVENT_TYPE: ClassVar[str] = "prospect-graded"
    VERSION: ClassVar[int] = 2

    override_reason: Text | None = Field(
        default=None, json_schema_extra={"pii": True},
        description="the consultant's reason for an override (free text: it may tell about the person)")
    history: list[GradeStep] = Field(default_factory=list, max_length=1000)
    revision: int = Field(default=0, ge=0, description="1, 2, ... per prospect; 0: a version-1 event")


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
