"""The grading policy: every threshold of spec sections 2 and 3 as configuration.

Numbers marked *seed* in the spec come from the source documents; the others
are our defaults. A policy is immutable and carries a `version`, which every
grade decision records, so that a past decision can be explained with the
policy that made it. `GradingPolicy.model_dump_json()` is what GET /v1/policy
serves; `GradingPolicy.model_validate_json()` reads it back unchanged.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from shared.events.enums import Channel, IntentGrade, PurchaseTimeframe

from .segments import LOYALTY_INDICATORS, CreditGrade, LoyaltyStage, SizeBand

Fraction = Annotated[Decimal, Field(ge=0, le=1)]
Money = Annotated[Decimal, Field(ge=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IntentRules(_Frozen):
    """Prospect intent grading (确度判别基准), spec section 2."""

    deposit_threshold_for_order: Money = Decimal("1000")  # seed: 已收1000元以上订金 -> O
    timeframe_grades: dict[PurchaseTimeframe, IntentGrade] = Field(
        default_factory=lambda: {
            PurchaseTimeframe.NOW: IntentGrade.H,  # stated intent only; O needs an order or deposit
            PurchaseTimeframe.WITHIN_7_DAYS: IntentGrade.H,  # default
            PurchaseTimeframe.WITHIN_1_MONTH: IntentGrade.A,  # seed
            PurchaseTimeframe.ONE_TO_3_MONTHS: IntentGrade.B,  # seed
            PurchaseTimeframe.OVER_3_MONTHS: IntentGrade.C,  # default
            PurchaseTimeframe.UNDECIDED: IntentGrade.C,  # default
        }
    )
    # Grade of a first contact that states neither a time frame nor an initial
    # grade, by channel; channels not listed get `undecided_grade`.
    channel_default_grades: dict[Channel, IntentGrade] = Field(default_factory=dict)
    undecided_grade: IntentGrade = IntentGrade.C
    # Buying signals (test drive, accepted quote, confirmed budget, a deposit
    # below the order threshold) raise by this many steps, never above the ceiling.
    signal_raise_steps: int = Field(default=1, ge=0, le=4)
    signal_ceiling: IntentGrade = IntentGrade.H
    # The N-th visit (walk-in contact or follow-up outcome "visited") raises once.
    visits_for_raise: int = Field(default=2, ge=0)  # 0 disables
    missed_follow_ups_before_downgrade: int = Field(default=2, ge=1)  # default: two in a row
    declined_downgrade_steps: int = Field(default=1, ge=0, le=4)

    @model_validator(mode="after")
    def _no_order_without_evidence(self) -> IntentRules:
        if set(self.timeframe_grades) != set(PurchaseTimeframe):
            raise ValueError("timeframe_grades must map every PurchaseTimeframe")
        if IntentGrade.O in self.timeframe_grades.values() or IntentGrade.O in self.channel_default_grades.values():
            raise ValueError("grade O needs an order or a deposit, never a stated time frame or a channel")
        if self.signal_ceiling == IntentGrade.O or self.undecided_grade == IntentGrade.O:
            raise ValueError("signal_ceiling and undecided_grade cannot be O")
        return self


class RankCuts(_Frozen):
    """Rank cut points as fractions of the population, best first."""

    top: Fraction
    next: Fraction

    @model_validator(mode="after")
    def _fits(self) -> RankCuts:
        if self.top + self.next > 1:
            raise ValueError("top + next must not exceed 1")
        return self


class ManagementRules(_Frozen):
    """Management classes (大客户/合适客户/一般客户/一次性客户)."""

    cuts: RankCuts = RankCuts(top=Decimal("0.05"), next=Decimal("0.15"))  # seed 5% / 15% / 80%
    one_off_purchase_count: int = Field(default=1, ge=1)  # exactly this many purchases -> one-off


class SizeBands(_Frozen):
    """Size by annual revenue in CNY (营业收入指标), seed numbers."""

    big_above: Money = Decimal("5000000")  # big: > 5M
    medium_from: Money = Decimal("1000000")  # medium: 1M .. 5M inclusive
    small_from: Money = Decimal("500000")  # small: 0.5M .. < 1M
    occasional_below: Money = Decimal("50000")  # occasional: < 50k
    unassigned_band: SizeBand = SizeBand.SMALL  # 50k .. < 500k, left open by the seed

    @model_validator(mode="after")
    def _ordered(self) -> SizeBands:
        if not (self.occasional_below <= self.small_from <= self.medium_from <= self.big_above):
            raise ValueError("size band limits must be ascending")
        return self


class ShareBands(_Frozen):
    """Share stability (市场份额指标) as fractions of the customer's purchases, seed."""

    stable_from: Fraction = Decimal("0.80")  # >= 80%
    basically_stable_from: Fraction = Decimal("0.50")  # 50% .. < 80%
    unstable_from: Fraction = Decimal("0.30")  # 30% .. < 50%; below: very unstable

    @model_validator(mode="after")
    def _ordered(self) -> ShareBands:
        if not (self.unstable_from <= self.basically_stable_from <= self.stable_from):
            raise ValueError("share bands must be ascending")
        return self


class CreditBand(_Frozen):
    """The worst payment behaviour still allowed for `grade`."""

    grade: CreditGrade
    max_average_days_late: Decimal = Field(ge=0)
    max_arrears_ratio: Fraction  # overdue unpaid amount / amount billed


class CreditRules(_Frozen):
    """Credit grade (信用等级) from payment behaviour; the numbers are defaults."""

    bands: tuple[CreditBand, ...] = (
        CreditBand(grade=CreditGrade.BEST, max_average_days_late=Decimal(0), max_arrears_ratio=Decimal(0)),
        CreditBand(grade=CreditGrade.GOOD, max_average_days_late=Decimal(15), max_arrears_ratio=Decimal("0.05")),
        CreditBand(grade=CreditGrade.AVERAGE, max_average_days_late=Decimal(30), max_arrears_ratio=Decimal("0.15")),
        CreditBand(grade=CreditGrade.POOR, max_average_days_late=Decimal(90), max_arrears_ratio=Decimal("0.40")),
    )
    # Any invoice this late, or any written-off debt, means no credit (无信誉).
    none_if_any_days_late_over: int = Field(default=180, ge=0)
    grade_without_history: CreditGrade = CreditGrade.AVERAGE

    @model_validator(mode="after")
    def _ordered(self) -> CreditRules:
        order = list(CreditGrade)
        if [order.index(b.grade) for b in self.bands] != sorted(order.index(b.grade) for b in self.bands):
            raise ValueError("credit bands must be listed best first")
        if any(b.grade == CreditGrade.NONE for b in self.bands):
            raise ValueError("NONE is what is left when no band fits; do not list it")
        return self


class BusinessConditionRules(_Frozen):
    """Business condition (客户经营状况) from net profit margin and trend."""

    special_min_margin: Decimal = Decimal("0.05")  # stable profit of 5%+ -> special
    break_even_tolerance: Decimal = Field(default=Decimal("0.01"), ge=0)  # |margin| within -> break-even


class LoyaltyRules(_Frozen):
    """Loyalty score (客户忠诚度) from the seven indicators, and the ladder cut points.

    Each indicator is turned into a sub-score in [0, 1] (see loyalty.py); the
    score is the weighted mean times 100.
    """

    weights: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "repeat_purchases": Decimal(1),
            "cross_purchases": Decimal(1),
            "price_sensitivity": Decimal(1),
            "incident_tolerance": Decimal(1),
            "time_to_choose": Decimal(1),
            "referrals": Decimal(1),
            "retention": Decimal(1),
        }
    )
    repeat_purchases_for_full: int = Field(default=5, ge=1)
    cross_categories_for_full: int = Field(default=3, ge=1)
    complaints_for_zero: int = Field(default=3, ge=1)
    decision_days_for_zero: int = Field(default=90, ge=1)
    referrals_for_full: int = Field(default=3, ge=1)
    retention_years_for_full: Decimal = Field(default=Decimal(5), gt=0)
    follower_min_score: Decimal = Decimal(40)
    advocate_min_score: Decimal = Decimal(60)
    partner_min_score: Decimal = Decimal(80)
    partner_min_years: Decimal = Decimal(3)

    @model_validator(mode="after")
    def _weights(self) -> LoyaltyRules:
        if set(self.weights) != set(LOYALTY_INDICATORS):
            raise ValueError(f"weights must name exactly {LOYALTY_INDICATORS}")
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
        return self


class OrderModelRules(_Frozen):
    """What counts as high for the customer order model (客户顺序模型)."""

    high_credit: frozenset[CreditGrade] = frozenset({CreditGrade.BEST, CreditGrade.GOOD})
    large_size: frozenset[SizeBand] = frozenset({SizeBand.BIG, SizeBand.MEDIUM})
    high_loyalty_from: LoyaltyStage = LoyaltyStage.FOLLOWER

    @field_serializer("high_credit", "large_size")
    def _canonical(self, values: frozenset) -> list:
        """Sets serialise sorted, so the same policy always has the same JSON."""
        return sorted(values)


class KeyAccountRules(_Frozen):
    """Cheverton matrix: scores in [0, 100]; at or above the cut is high."""

    attractiveness_cut: Decimal = Decimal(50)
    advantage_cut: Decimal = Decimal(50)


class LifecycleRules(_Frozen):
    """Lifecycle stage and decline detection (衰退期), defaults."""

    window_days: int = Field(default=90, ge=1)
    decline_volume_ratio: Fraction = Decimal("0.5")  # last window < half of the previous
    decline_interval_multiple: Decimal = Field(default=Decimal(2), gt=0)  # no purchase for 2x the usual interval
    # Decline is looked for from this many purchases. Default 1 (domain §8): a customer with purchases
    # on one day only has no usual interval but still declines by the volume rule.
    min_purchases_for_decline: int = Field(default=1, ge=1)
    formation_growth_ratio: Decimal = Field(default=Decimal("1.10"), ge=0)  # last window >= 110% of previous
    min_purchases_beyond_exploration: int = Field(default=2, ge=1)


class LifetimeProfitRules(_Frozen):
    """Customer lifetime profit (客户生命周期利润) as net present value."""

    annual_discount_rate: Decimal = Field(default=Decimal("0.08"), ge=0, le=1)
    # Referral gains (推荐收益, domain §8): this share of the gross profit of each deal by a customer
    # it referred counts in the referrer's lifetime gross profit (the ranking) and lifetime profit.
    referral_gain_share: Fraction = Decimal("0.10")


class GradingPolicy(_Frozen):
    """Every threshold the grading service uses, with the version that names it."""

    # A version names one policy forever (grading_policies): changing a default needs a new one.
    # 2026.1: single-purchase-day customers decline by volume, referral gains.
    version: str = Field(default="2026.1", min_length=1, max_length=100)
    intent: IntentRules = IntentRules()
    pyramid_cuts: RankCuts = RankCuts(top=Decimal("0.05"), next=Decimal("0.15"))  # platinum / gold
    management: ManagementRules = ManagementRules()
    size: SizeBands = SizeBands()
    share: ShareBands = ShareBands()
    credit: CreditRules = CreditRules()
    business: BusinessConditionRules = BusinessConditionRules()
    loyalty: LoyaltyRules = LoyaltyRules()
    order_model: OrderModelRules = OrderModelRules()
    key_account: KeyAccountRules = KeyAccountRules()
    lifecycle: LifecycleRules = LifecycleRules()
    lifetime_profit: LifetimeProfitRules = LifetimeProfitRules()
    pareto_top_fraction: Fraction = Decimal("0.20")  # 二八法则


DEFAULT_POLICY = GradingPolicy()
