"""Pareto analysis (二八法则): how much revenue or profit the top customers bring."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from .policy import DEFAULT_POLICY, GradingPolicy
from .pyramid import CustomerId, group_size


class ParetoPoint(BaseModel):
    """After the top `customer_share` of customers, `value_share` of the total."""

    model_config = ConfigDict(frozen=True)

    customer_share: Decimal
    value_share: Decimal


class ParetoSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    population: int
    top_fraction: Decimal
    top_count: int  # ceil(population * top_fraction)
    top_share: Decimal | None  # None when the total is <= 0 (shares undefined)
    curve: tuple[ParetoPoint, ...]  # one point per customer, best first; empty if top_share is None


def pareto(values: Mapping[CustomerId, Decimal], top_fraction: Decimal | None = None,
           policy: GradingPolicy = DEFAULT_POLICY) -> ParetoSummary:
    """Share of the total coming from the top `top_fraction` (20%) of customers, and the curve.

    Customers are sorted by value, highest first. Shares are exact decimals of
    the total; with a total <= 0 (possible for profit) they are undefined.
    """
    fraction = Decimal(policy.pareto_top_fraction if top_fraction is None else top_fraction)
    ordered = sorted((Decimal(v) for v in values.values()), reverse=True)
    n = len(ordered)
    top_count = group_size(n, fraction)
    total = sum(ordered, Decimal(0))
    if n == 0 or total <= 0:
        return ParetoSummary(population=n, top_fraction=fraction, top_count=top_count, top_share=None, curve=())
    curve = []
    running = Decimal(0)
    for i, value in enumerate(ordered, start=1):
        running += value
        curve.append(ParetoPoint(customer_share=Decimal(i) / n, value_share=running / total))
    top_share = sum(ordered[:top_count], Decimal(0)) / total
    return ParetoSummary(population=n, top_fraction=fraction, top_count=top_count, top_share=top_share, curve=tuple(curve))
