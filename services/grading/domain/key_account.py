"""Cheverton's key-account matrix (关键客户识别与选择矩阵).

Two scores in [0, 100]: customer attractiveness (客户吸引力: what the customer
is worth to us) and our relative advantage (相对优势: how attractive we are to
the customer compared with competitors). A score at or above its cut (50 by
default) is high.

  attractiveness high, advantage high -> key (关键客户)
  attractiveness high, advantage low  -> key development (关键发展客户)
  attractiveness low,  advantage high -> maintenance (维持客户)
  attractiveness low,  advantage low  -> opportunistic (机会主义客户)
"""
from __future__ import annotations

from decimal import Decimal

from .policy import DEFAULT_POLICY, GradingPolicy
from .segments import KeyAccountClass


def key_account_class(
    attractiveness: Decimal, relative_advantage: Decimal, policy: GradingPolicy = DEFAULT_POLICY
) -> KeyAccountClass:
    """The matrix cell of one customer."""
    for name, score in (("attractiveness", attractiveness), ("relative_advantage", relative_advantage)):
        if not Decimal(0) <= Decimal(score) <= Decimal(100):
            raise ValueError(f"{name} must be in [0, 100]")
    rules = policy.key_account
    attractive = Decimal(attractiveness) >= rules.attractiveness_cut
    strong = Decimal(relative_advantage) >= rules.advantage_cut
    if attractive:
        return KeyAccountClass.KEY if strong else KeyAccountClass.KEY_DEVELOPMENT
    return KeyAccountClass.MAINTENANCE if strong else KeyAccountClass.OPPORTUNISTIC
