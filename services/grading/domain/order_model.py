"""The customer order model (客户顺序模型): which customers matter most, in order.

Credit comes first, size second, loyalty third (信用等级第一, 客户规模第二,
客户忠诚度第三), giving eight classes:

  1 high credit, large, high loyalty     5 low credit, large, high loyalty
  2 high credit, large, low loyalty      6 low credit, large, low loyalty
  3 high credit, small, high loyalty     7 low credit, small, high loyalty
  4 high credit, small, low loyalty      8 low credit, small, low loyalty

i.e. class = 1 + 4*(low credit) + 2*(small) + (low loyalty). The two-factor
variants follow the seed's numbering: size x loyalty (1 large/high, 2 large/
low, 3 small/high, 4 small/low) and credit x loyalty (1 high/high, 2 high/low,
3 low/high, 4 low/low).

High credit: best or good; large: big or medium; high loyalty: follower or
above (`policy.order_model`).
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .policy import DEFAULT_POLICY, GradingPolicy
from .segments import CreditGrade, LoyaltyStage, SizeBand


class OrderClass(BaseModel):
    model_config = ConfigDict(frozen=True)

    rank: int = Field(ge=1, le=8)
    high_credit: bool
    large: bool
    high_loyalty: bool


class TwoFactorClass(BaseModel):
    model_config = ConfigDict(frozen=True)

    rank: int = Field(ge=1, le=4)
    first_high: bool  # large (size x loyalty) or high credit (credit x loyalty)
    high_loyalty: bool


def is_high_credit(credit: CreditGrade, policy: GradingPolicy = DEFAULT_POLICY) -> bool:
    return credit in policy.order_model.high_credit


def is_large(size: SizeBand, policy: GradingPolicy = DEFAULT_POLICY) -> bool:
    return size in policy.order_model.large_size


def is_high_loyalty(loyalty: LoyaltyStage, policy: GradingPolicy = DEFAULT_POLICY) -> bool:
    return loyalty.level >= policy.order_model.high_loyalty_from.level


def order_class(
    credit: CreditGrade, size: SizeBand, loyalty: LoyaltyStage, policy: GradingPolicy = DEFAULT_POLICY
) -> OrderClass:
    """The eight-class order: 1 = high credit/large/high loyalty .. 8 = low/small/low."""
    hc, lg, hl = is_high_credit(credit, policy), is_large(size, policy), is_high_loyalty(loyalty, policy)
    rank = 1 + 4 * (not hc) + 2 * (not lg) + (not hl)
    return OrderClass(rank=rank, high_credit=hc, large=lg, high_loyalty=hl)


def _two_factor(first_high: bool, high_loyalty: bool) -> TwoFactorClass:
    return TwoFactorClass(rank=1 + 2 * (not first_high) + (not high_loyalty), first_high=first_high, high_loyalty=high_loyalty)


def size_loyalty_class(size: SizeBand, loyalty: LoyaltyStage, policy: GradingPolicy = DEFAULT_POLICY) -> TwoFactorClass:
    """Size x loyalty: 1 large/high .. 4 small/low."""
    return _two_factor(is_large(size, policy), is_high_loyalty(loyalty, policy))


def credit_loyalty_class(
    credit: CreditGrade, loyalty: LoyaltyStage, policy: GradingPolicy = DEFAULT_POLICY
) -> TwoFactorClass:
    """Credit x loyalty: 1 high/high .. 4 low/low."""
    return _two_factor(is_high_credit(credit, policy), is_high_loyalty(loyalty, policy))
