"""Request bodies of the follow-up API (pydantic names the field of any bad input: 422)."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.contract import DealItem
from shared.events.contract.types import Identifier, Money, ShortText, Text
from shared.events.enums import (
    Channel,
    ComplaintCategory,
    ContactMethod,
    FollowUpOutcome,
    LossReason,
    PurchaseTimeframe,
)



class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompleteTask(_Body):
    """The follow-up record (跟踪记录): how, what happened, and the buying signals seen."""

    method: ContactMethod
    outcome: FollowUpOutcome
    content: Text | None = None
    test_drive: bool = False
    quote_accepted: bool = False
    budget_confirmed: bool = False
    deposit_amount: Money | None = Field(default=None, ge=0)
    purchase_timeframe: PurchaseTimeframe | None = None
    next_contact_at: AwareDatetime | None = None


class NewDeal(_Body):
    customer_id: uuid.UUID
    consultant_id: Identifier | None = None  # default: the caller (consultant) or the customer's owner
    items: list[DealItem] = Field(min_length=1, max_length=200)
    amount: Money | None = Field(default=None, ge=0)  # default: the items' total
    gross_profit: Money
    deposit: Money = Field(default=Decimal(0), ge=0)
    closed_on: date
    delivered_at: AwareDatetime | None = None  # given: already delivered, no delivery steps
    contact_id: uuid.UUID | None = None
    channel: Channel | None = None
    campaign: ShortText | None = None
    payment_due_on: date | None = None  # default: the deal date (cash sale)


class NewPayment(_Body):
    """A payment against a deal (回款)."""

    amount: Money = Field(gt=0)
    paid_on: date
    note: Text | None = None


class ProposeLoss(_Body):
    reason: LossReason
    note: Text | None = None


class Decision(_Body):
    note: Text | None = None


class Reassign(_Body):
    """A manager's reassignment (domain §8: with a reason, also when a consultant leaves)."""

    consultant_id: Identifier
    reason: Annotated[Text, Field(min_length=1)]


class Consultant(_Body):
    consultant_id: Identifier
    name: ShortText | None = None
    team: ShortText | None = None
    active: bool = True


class CareProfile(_Body):
    birthday: date | None = None


class Acknowledge(_Body):
    note: Text | None = None


class Resolve(_Body):
    root_cause: ComplaintCategory
    remedy: Annotated[str, Field(min_length=1, max_length=2000)]


class Survey(_Body):
    satisfaction: int = Field(ge=1, le=5)
    comment: Text | None = None


MAX_BATCH = 1000


class DealBatch(_Body):
    """Up to 1,000 deals at once, all or nothing (history taken over from an earlier system)."""

    deals: list[NewDeal] = Field(min_length=1, max_length=MAX_BATCH)
    historical_before: AwareDatetime | None = Field(
        default=None, description="Deals closed on a business day before this one are history: they set value, "
                                  "lifecycle and reports and create no work (no delivery steps, no 3-day call). "
                                  "Default: now, so a batch of earlier deals creates no work for the past.")


class PaymentEntry(NewPayment):
    """A payment against the deal `deal_id`."""

    deal_id: uuid.UUID


class PaymentBatch(_Body):
    """Up to 1,000 payments at once, all or nothing, applied in the order given."""

    payments: list[PaymentEntry] = Field(min_length=1, max_length=MAX_BATCH)
