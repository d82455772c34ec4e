"""Single-measure value classes of a customer (客户价值), spec section 3.

Size by annual revenue (营业收入指标), share stability (市场份额指标) and the
customer's business condition (客户经营状况). Amounts are CNY; shares and
margins are fractions (0.8 = 80%).
"""
from __future__ import annotations

from decimal import Decimal

from .policy import DEFAULT_POLICY, GradingPolicy
from .segments import BusinessCondition, ShareStability, SizeBand


def size_band_of(annual_revenue: Decimal, policy: GradingPolicy = DEFAULT_POLICY) -> SizeBand:
    """Size band of an organisation by annual revenue (seed numbers).

    big: > 5M; medium: 1M <= r <= 5M; small: 0.5M <= r < 1M;
    occasional: < 50k; 50k <= r < 0.5M (left open by the seed):
    `policy.size.unassigned_band`, small by default.
    """
    bands = policy.size
    revenue = Decimal(annual_revenue)
    if revenue > bands.big_above:
        return SizeBand.BIG
    if revenue >= bands.medium_from:
        return SizeBand.MEDIUM
    if revenue >= bands.small_from:
        return SizeBand.SMALL
    if revenue < bands.occasional_below:
        return SizeBand.OCCASIONAL
    return bands.unassigned_band


def share_stability_of(share: Decimal, policy: GradingPolicy = DEFAULT_POLICY) -> ShareStability:
    """Stability by our share of the customer's purchases (seed numbers).

    stable: >= 80%; basically stable: 50% <= s < 80%; unstable: 30% <= s < 50%;
    very unstable: < 30% (the seed's "< 50%" and "< 30%" overlap; the
    narrower band wins).
    """
    bands = policy.share
    share = Decimal(share)
    if not Decimal(0) <= share <= Decimal(1):
        raise ValueError("share must be a fraction in [0, 1]")
    if share >= bands.stable_from:
        return ShareStability.STABLE
    if share >= bands.basically_stable_from:
        return ShareStability.BASICALLY_STABLE
    if share >= bands.unstable_from:
        return ShareStability.UNSTABLE
    return ShareStability.VERY_UNSTABLE


def business_condition_of(
    net_margin: Decimal, improving: bool, policy: GradingPolicy = DEFAULT_POLICY
) -> BusinessCondition:
    """The customer's business condition from its net profit margin and trend.

    special: margin >= `special_min_margin` (5%): stable profit;
    first: margin >= -`break_even_tolerance` (-1%): break-even or slight profit;
    second: a loss with an improving trend;
    third: a loss without improvement (the seed's "heavy losses, no turn";
    the size of the loss is not measured separately).
    """
    rules = policy.business
    margin = Decimal(net_margin)
    if margin >= rules.special_min_margin:
        return BusinessCondition.SPECIAL
    if margin >= -rules.break_even_tolerance:
        return BusinessCondition.FIRST
    return BusinessCondition.SECOND if improving else BusinessCondition.THIRD
