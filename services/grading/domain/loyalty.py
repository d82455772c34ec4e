"""Loyalty (客户忠诚度): a score from the seven indicators and the loyalty ladder.

Each indicator becomes a sub-score in [0, 1], higher = more loyal
(limits from `policy.loyalty`, defaults in brackets):

1. repeat purchases (重复购买次数): purchases beyond the first / 5, at most 1;
2. cross purchases (交叉购买): product categories beyond the first / 3, at most 1;
3. price sensitivity (价格敏感程度): 1 - share of purchases made only with a
   price concession (discount, rebate);
4. tolerance of incidents (事故宽容程度): 1 - complaints / 3, at least 0;
5. time to choose (挑选时间): 1 - average days from first contact to purchase
   / 90, at least 0; unknown counts 0;
6. referrals (推荐行为): referrals made / 3, at most 1;
7. retention (客户保持率): years as a customer / 5, at most 1.

score = 100 * weighted mean of the sub-scores (equal weights by default),
rounded to 0.01.

Ladder (忠诚发展阶段), each step requiring the previous:
general buyer (普通购买者): no purchase, no contact with us;
potential buyer (潜在购买者): no purchase, but a contact;
ordinary customer (普通客户): at least one purchase;
follower (跟随者): a repeat buyer (2+ purchases) with score >= 40;
advocate (拥护者): a follower who referred someone, score >= 60;
partner (合伙人): an advocate with score >= 80 and 3+ years as a customer.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from pydantic import BaseModel, ConfigDict, Field

from .policy import DEFAULT_POLICY, GradingPolicy
from .segments import LOYALTY_INDICATORS, LoyaltyStage


class LoyaltyIndicators(BaseModel):
    """The measured inputs of the seven indicators for one customer."""

    model_config = ConfigDict(frozen=True)

    purchases: int = Field(ge=0)
    product_categories: int = Field(default=0, ge=0)
    concession_purchase_share: Decimal = Field(default=Decimal(0), ge=0, le=1)
    complaints: int = Field(default=0, ge=0)
    average_days_to_choose: Decimal | None = Field(default=None, ge=0)
    referrals: int = Field(default=0, ge=0)
    years_as_customer: Decimal = Field(default=Decimal(0), ge=0)
    has_contact: bool = True


class LoyaltyAssessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: Decimal  # 0 .. 100
    stage: LoyaltyStage
    sub_scores: dict[str, Decimal]


def _ratio(value: Decimal | int, full: Decimal | int) -> Decimal:
    return min(Decimal(value) / Decimal(full), Decimal(1))


def loyalty_sub_scores(ind: LoyaltyIndicators, policy: GradingPolicy = DEFAULT_POLICY) -> dict[str, Decimal]:
    """The seven sub-scores in [0, 1], keyed by `LOYALTY_INDICATORS`."""
    r = policy.loyalty
    one = Decimal(1)
    scores = {
        "repeat_purchases": _ratio(max(ind.purchases - 1, 0), r.repeat_purchases_for_full),
        "cross_purchases": _ratio(max(ind.product_categories - 1, 0), r.cross_categories_for_full),
        "price_sensitivity": one - ind.concession_purchase_share,
        "incident_tolerance": one - _ratio(ind.complaints, r.complaints_for_zero),
        "time_to_choose": Decimal(0)
        if ind.average_days_to_choose is None
        else one - _ratio(ind.average_days_to_choose, r.decision_days_for_zero),
        "referrals": _ratio(ind.referrals, r.referrals_for_full),
        "retention": _ratio(ind.years_as_customer, r.retention_years_for_full),
    }
    assert tuple(scores) == LOYALTY_INDICATORS
    return scores


def loyalty_score(ind: LoyaltyIndicators, policy: GradingPolicy = DEFAULT_POLICY) -> Decimal:
    """100 * the weighted mean of the sub-scores, rounded to 0.01."""
    weights = policy.loyalty.weights
    subs = loyalty_sub_scores(ind, policy)
    total = sum((weights[k] * subs[k] for k in subs), Decimal(0)) / sum(weights.values(), Decimal(0))
    return (total * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def loyalty_stage(ind: LoyaltyIndicators, score: Decimal, policy: GradingPolicy = DEFAULT_POLICY) -> LoyaltyStage:
    """The ladder step (rules in the module docstring)."""
    r = policy.loyalty
    if ind.purchases == 0:
        return LoyaltyStage.POTENTIAL_BUYER if ind.has_contact else LoyaltyStage.GENERAL_BUYER
    if ind.purchases < 2 or score < r.follower_min_score:
        return LoyaltyStage.ORDINARY_CUSTOMER
    if ind.referrals < 1 or score < r.advocate_min_score:
        return LoyaltyStage.FOLLOWER
    if score < r.partner_min_score or ind.years_as_customer < r.partner_min_years:
        return LoyaltyStage.ADVOCATE
    return LoyaltyStage.PARTNER


def assess_loyalty(ind: LoyaltyIndicators, policy: GradingPolicy = DEFAULT_POLICY) -> LoyaltyAssessment:
    """Score, ladder step and sub-scores of one customer."""
    score = loyalty_score(ind, policy)
    return LoyaltyAssessment(score=score, stage=loyalty_stage(ind, score, policy), sub_scores=loyalty_sub_scores(ind, policy))
