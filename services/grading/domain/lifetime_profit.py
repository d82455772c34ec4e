"""Customer lifetime profit (客户生命周期利润) as a net present value.

Lifetime profit = the gross profit the customer brought (base profit,
related sales, cost savings, referral gains) minus what we spent on the
customer (acquisition cost, price concessions, service cost, complaint cost),
each amount discounted to `start` by whole years: an amount t full years
(365 days each) after `start` counts amount / (1 + rate)^t, so everything in
the first year counts in full. `start` defaults to the earliest entry; entries
before an explicit `start` have t < 0 and are compounded forward. Results are
rounded to 0.01 CNY (half-even).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from .policy import DEFAULT_POLICY, GradingPolicy

CENT = Decimal("0.01")


class ProfitComponent(StrEnum):
    # what the customer brought (客户为企业带来的总体利润)
    BASE_PROFIT = "base_profit"  # 基本利润
    RELATED_SALES = "related_sales"  # 关联销售
    COST_SAVINGS = "cost_savings"  # 成本节约
    REFERRAL_GAINS = "referral_gains"  # 推荐收益
    # what we spent (企业为客户投入的成本)
    ACQUISITION_COST = "acquisition_cost"  # 获取成本
    PRICE_CONCESSIONS = "price_concessions"  # 价格优惠
    SERVICE_COST = "service_cost"
    COMPLAINT_COST = "complaint_cost"

    @property
    def is_cost(self) -> bool:
        return self in _COSTS


_COSTS = frozenset(
    {
        ProfitComponent.ACQUISITION_COST,
        ProfitComponent.PRICE_CONCESSIONS,
        ProfitComponent.SERVICE_COST,
        ProfitComponent.COMPLAINT_COST,
    }
)


class ProfitEntry(BaseModel):
    """One amount (>= 0) of one component on one day."""

    model_config = ConfigDict(frozen=True)

    on: date
    component: ProfitComponent
    amount: Decimal = Field(ge=0)


class LifetimeProfit(BaseModel):
    model_config = ConfigDict(frozen=True)

    gross_profit: Decimal  # undiscounted gains
    costs: Decimal  # undiscounted costs
    net: Decimal  # gross_profit - costs, undiscounted
    npv: Decimal  # discounted to `start`
    start: date | None
    by_component: dict[ProfitComponent, Decimal]


def lifetime_profit(
    entries: Iterable[ProfitEntry], start: date | None = None, policy: GradingPolicy = DEFAULT_POLICY
) -> LifetimeProfit:
    """Gross profit minus costs, undiscounted and as NPV at the policy rate."""
    items = list(entries)
    if start is None and items:
        start = min(e.on for e in items)
    rate = Decimal(1) + policy.lifetime_profit.annual_discount_rate
    gross = costs = npv = Decimal(0)
    by_component: dict[ProfitComponent, Decimal] = {}
    for e in items:
        assert start is not None
        years = (e.on - start).days // 365
        signed = -e.amount if e.component.is_cost else e.amount
        npv += signed / rate**years
        if e.component.is_cost:
            costs += e.amount
        else:
            gross += e.amount
        by_component[e.component] = by_component.get(e.component, Decimal(0)) + e.amount
    return LifetimeProfit(
        gross_profit=gross,
        costs=costs,
        net=gross - costs,
        npv=npv.quantize(CENT, rounding=ROUND_HALF_EVEN),
        start=start,
        by_component=by_component,
    )
