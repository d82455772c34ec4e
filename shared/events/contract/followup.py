"""Events follow-up produces: work items, follow-up records, deals, losses, complaint handling.

Fields marked `"pii": True` are free text about the customer (a follow-up record, a loss note, a
complaint's remedy): they travel sealed with the customer's key (shared.pii_seal) and read as
erased once the customer is erased."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..enums import (
    Channel,
    ComplaintCategory,
    ContactMethod,
    FollowUpOutcome,
    IntentGrade,
    LossReason,
    PurchaseTimeframe,
)
from ..envelope import EventPayload
from .types import Money, ShortText, Text


class TaskScheduled(EventPayload):
    """A follow-up work item was created or rescheduled."""

    EVENT_TYPE: ClassVar[str] = "task-scheduled"
    VERSION: ClassVar[int] = 1

    task_id: uuid.UUID
    kind: ShortText
    owner_id: ShortText
    due_at: AwareDatetime
    grade: IntentGrade | None = None
    marketing: bool = True


class FollowUpLoggedV1(EventPayload):
    """A follow-up task was completed and its record logged (跟踪记录)."""

    EVENT_TYPE: ClassVar[str] = "followup-logged"
    VERSION: ClassVar[int] = 1

    task_id: uuid.UUID
    kind: ShortText
    consultant_id: ShortText
    method: ContactMethod
    outcome: FollowUpOutcome
    content: Text | None = Field(default=None, json_schema_extra={"pii": True})  # about the person
    test_drive: bool = False
    quote_accepted: bool = False
    budget_confirmed: bool = False
    deposit_amount: Money | None = Field(default=None, ge=0)
    purchase_timeframe: PurchaseTimeframe | None = None
    next_contact_at: AwareDatetime | None = None
    completed_at: AwareDatetime


class FollowUpLogged(FollowUpLoggedV1):
    """A follow-up task was completed and its record logged (跟踪记录).

    Version 2: `late` is follow-up's judgement whether the task was done after its due time, so
    that no reader judges it again. Readers get version 1 upcast with `late` unknown (None).
    """

    VERSION: ClassVar[int] = 2

    late: bool | None = Field(
        default=None,
        description="Done after the task's due time (judged on when it was done, not when it was logged), "
                    "as follow-up decides it; null on events from before version 2, which did not tell it.")


class TaskClosed(EventPayload):
    """A task left the open list without a follow-up record (cancelled, overdue)."""

    EVENT_TYPE: ClassVar[str] = "task-closed"
    VERSION: ClassVar[int] = 1

    task_id: uuid.UUID
    status: Annotated[str, Field(pattern="^(cancelled|overdue)$")]
    reason: ShortText


class TaskEscalated(EventPayload):
    """A pending task was late beyond the policy's threshold and went to the manager (逾期升级)."""

    EVENT_TYPE: ClassVar[str] = "task-escalated"
    VERSION: ClassVar[int] = 1

    task_id: uuid.UUID
    kind: ShortText
    owner_id: ShortText
    due_at: AwareDatetime
    late_hours: int = Field(ge=0)
    escalated_at: AwareDatetime


class DealItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    product: ShortText
    quantity: int = Field(ge=1, le=100000)
    unit_price: Money = Field(ge=0)


class DealClosed(EventPayload):
    """A deal (成交) was recorded."""

    EVENT_TYPE: ClassVar[str] = "deal-closed"
    VERSION: ClassVar[int] = 1

    deal_id: uuid.UUID
    consultant_id: ShortText
    items: list[DealItem] = Field(min_length=1, max_length=200)
    amount: Money = Field(ge=0)
    gross_profit: Money
    deposit: Money = Field(default=Decimal(0), ge=0)
    closed_on: date
    contact_id: uuid.UUID | None = None
    channel: Channel | None = None
    campaign: ShortText | None = None
    payment_due_on: date | None = Field(
        default=None, description="When the amount is due; absent: the deal date (cash sale).")


class PaymentRecorded(EventPayload):
    """A payment against a deal was recorded (回款); `balance_after` is what is still owed."""

    EVENT_TYPE: ClassVar[str] = "payment-recorded"
    VERSION: ClassVar[int] = 1

    deal_id: uuid.UUID
    amount: Money = Field(gt=0)
    paid_on: date
    due_on: date
    balance_after: Money = Field(ge=0)


class ProspectLost(EventPayload):
    """A loss (战败) was approved by a manager."""

    EVENT_TYPE: ClassVar[str] = "prospect-lost"
    VERSION: ClassVar[int] = 1

    reason: LossReason
    note: Text | None = Field(default=None, json_schema_extra={"pii": True})  # free text about the person
    consultant_id: ShortText | None = None
    approved_by: ShortText


class ComplaintUpdated(EventPayload):
    """A complaint case moved a step (抱怨投诉处理): acknowledged, resolved, surveyed, escalated."""

    EVENT_TYPE: ClassVar[str] = "complaint-updated"
    VERSION: ClassVar[int] = 1

    complaint_id: uuid.UUID
    status: Annotated[str, Field(pattern="^(opened|acknowledged|resolved|surveyed|escalated)$")]
    owner_id: ShortText | None = None
    category: ComplaintCategory | None = None
    remedy: Text | None = Field(default=None, json_schema_extra={"pii": True})  # what the customer got
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    acknowledge_due_at: AwareDatetime | None = None
    resolve_due_at: AwareDatetime | None = None
    breached: ShortText | None = None  # which deadline, when escalated
    at: AwareDatetime


class ConsultantUpdated(EventPayload):
    """A roster member (销售顾问) was added or changed: their team and whether they take new work.

    Other services keep who is in which team from these, so a manager's reach (their team)
    is the same everywhere. The envelope's customer_id is the member's stable pseudo id
    (`consultant_stream_id`), not a customer."""

    EVENT_TYPE: ClassVar[str] = "consultant-updated"
    VERSION: ClassVar[int] = 1

    consultant_id: ShortText
    team: ShortText | None = None
    active: bool = True


class CustomerAssigned(EventPayload):
    """Who owns the customer now (客户归属): the one decision every service's access reads.

    Follow-up decides it (domain §8): the consultant named when the customer was created, else
    the least-loaded active consultant; only a manager's reassignment (or a consultant leaving,
    or a merge) moves it afterwards. Every change is published, and every service keeps the
    latest one per customer. Events of one customer share its partition, so the latest applied
    is the latest decided; the dates inside never decide precedence (a forged date cannot win).
    `owner_id` is None when nobody can take the customer (an empty roster)."""

    EVENT_TYPE: ClassVar[str] = "customer-assigned"
    VERSION: ClassVar[int] = 1

    owner_id: ShortText | None = None
    previous_owner_id: ShortText | None = None
    basis: Annotated[str, Field(pattern="^(named|load|deal|reassigned|handed_over|merged)$")] = Field(
        description="named: the consultant named when the customer came in; load: the least-loaded "
                    "active consultant; deal: the consultant who recorded a deal with an unowned "
                    "customer; reassigned: a manager moved the customer; handed_over: the owner left "
                    "the roster; merged: the customer was merged into another one (the survivor's owner)")
    assignment_note: Text | None = Field(
        default=None, json_schema_extra={"pii": True},
        description="the manager's reason for a reassignment (free text: it may tell about the person)")
    assigned_by: ShortText | None = None


CONSULTANT_NAMESPACE = uuid.UUID("0f6c1d2e-3b4a-4c5d-8e9f-a1b2c3d4e5f6")


def consultant_stream_id(consultant_id: str) -> uuid.UUID:
    """The stable pseudo id a roster member's events carry in the envelope's customer_id."""
    return uuid.uuid5(CONSULTANT_NAMESPACE, f"consultant:{consultant_id}")
