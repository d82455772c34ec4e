"""Customer lifecycle stage (客户生命周期) with decline detection, as of a date.

Volume is the purchase amount. Windows end at `as_of`: the last window is
(as_of - 90 days, as_of], the previous one the 90 days before it. Purchases
after `as_of` are ignored, so the stage of any past date can be computed.
The usual purchase interval is the median gap in days between the
customer's distinct purchase days (domain §8); a customer with purchases on
one day only has none.

Rules, first match wins (defaults from `policy.lifecycle`):

1. decline (衰退期), either signal:
   - volume halved: last-window volume < half the previous window's; this
     is the only rule for a customer with purchases on one day (no usual
     interval), so a single purchase 90 to 180 days ago is a decline;
   - overdue purchase: days since the last purchase >= 2 x the usual
     interval (only with an interval: two distinct purchase days or more);
   `min_purchases_for_decline` (default 1: every customer) can hold both
   back for customers with fewer purchases;
2. exploration (考察期): fewer than 2 purchases (trial purchases);
3. formation (发展期): volume growing: last window >= 110% of the previous
   one and above 0;
4. stability (稳定期): otherwise (steady volume).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from statistics import median

from pydantic import BaseModel, ConfigDict, Field

from .policy import DEFAULT_POLICY, GradingPolicy
from .segments import LifecycleStage


class Purchase(BaseModel):
    model_config = ConfigDict(frozen=True)

    on: date
    amount: Decimal = Field(ge=0)


class DeclineSignal(StrEnum):
    VOLUME_HALVED = "volume_halved"
    OVERDUE_PURCHASE = "overdue_purchase"


class LifecycleAssessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: LifecycleStage
    purchases: int
    last_window_volume: Decimal
    previous_window_volume: Decimal
    usual_interval_days: Decimal | None
    days_since_last_purchase: int | None
    decline_signals: tuple[DeclineSignal, ...]


def usual_interval_days(purchase_days: Iterable[date]) -> Decimal | None:
    """Median gap between consecutive distinct purchase days; None with fewer than two days."""
    days = sorted(set(purchase_days))
    gaps = [(b - a).days for a, b in zip(days, days[1:])]
    return Decimal(str(median(gaps))) if gaps else None


def assess_lifecycle(
    purchases: Iterable[Purchase], as_of: date, policy: GradingPolicy = DEFAULT_POLICY
) -> LifecycleAssessment:
    """The lifecycle stage as of `as_of` (rules in the module docstring)."""
    rules = policy.lifecycle
    known = [p for p in purchases if p.on <= as_of]
    window = timedelta(days=rules.window_days)
    last_start, prev_start = as_of - window, as_of - 2 * window
    last = sum((p.amount for p in known if last_start < p.on <= as_of), Decimal(0))
    prev = sum((p.amount for p in known if prev_start < p.on <= last_start), Decimal(0))
    interval = usual_interval_days(p.on for p in known)
    since = (as_of - max(p.on for p in known)).days if known else None

    signals: list[DeclineSignal] = []
    if known and len(known) >= rules.min_purchases_for_decline:
        if prev > 0 and last < rules.decline_volume_ratio * prev:
            signals.append(DeclineSignal.VOLUME_HALVED)
        if interval is not None and since is not None and since >= rules.decline_interval_multiple * interval:
            signals.append(DeclineSignal.OVERDUE_PURCHASE)

    if signals:
        stage = LifecycleStage.DECLINE
    elif len(known) < rules.min_purchases_beyond_exploration:
        stage = LifecycleStage.EXPLORATION
    elif last > 0 and last >= rules.formation_growth_ratio * prev:
        stage = LifecycleStage.FORMATION
    else:
        stage = LifecycleStage.STABILITY
    return LifecycleAssessment(
        stage=stage,
        purchases=len(known),
        last_window_volume=last,
        previous_window_volume=prev,
        usual_interval_days=interval,
        days_since_last_purchase=since,
        decline_signals=tuple(signals),
    )
