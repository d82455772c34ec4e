"""Customer order model (客户顺序模型) and Cheverton matrix (关键客户识别与选择矩阵)."""
from decimal import Decimal as D
from itertools import product

import pytest

from services.grading.domain.key_account import key_account_class
from services.grading.domain.order_model import credit_loyalty_class, order_class, size_loyalty_class
from services.grading.domain.segments import CreditGrade as CG
from services.grading.domain.segments import KeyAccountClass as KA
from services.grading.domain.segments import LoyaltyStage as LS
from services.grading.domain.segments import SizeBand as SB

HIGH_C, LOW_C = CG.GOOD, CG.AVERAGE
LARGE, SMALL = SB.MEDIUM, SB.SMALL
HIGH_L, LOW_L = LS.FOLLOWER, LS.ORDINARY_CUSTOMER


@pytest.mark.parametrize(
    "credit, size, loyalty, rank",
    [(HIGH_C, LARGE, HIGH_L, 1), (HIGH_C, LARGE, LOW_L, 2), (HIGH_C, SMALL, HIGH_L, 3), (HIGH_C, SMALL, LOW_L, 4),
     (LOW_C, LARGE, HIGH_L, 5), (LOW_C, LARGE, LOW_L, 6), (LOW_C, SMALL, HIGH_L, 7), (LOW_C, SMALL, LOW_L, 8)],
)
def test_eight_classes_in_the_seed_order(credit, size, loyalty, rank):
    assert order_class(credit, size, loyalty).rank == rank


def test_credit_outweighs_size_which_outweighs_loyalty():
    for c, s, l in product(CG, SB, LS):
        cls = order_class(c, s, l)
        assert 1 <= cls.rank <= 8
        if cls.high_credit:
            assert cls.rank <= 4  # any high-credit customer beats any low-credit one


def test_high_and_low_cut_points():
    assert order_class(CG.BEST, SB.BIG, LS.PARTNER).rank == 1
    assert order_class(CG.NONE, SB.OCCASIONAL, LS.GENERAL_BUYER).rank == 8
    assert order_class(CG.POOR, SB.BIG, LS.ADVOCATE).rank == 5


def test_two_factor_variants():
    assert [size_loyalty_class(s, l).rank for s, l in [(LARGE, HIGH_L), (LARGE, LOW_L), (SMALL, HIGH_L), (SMALL, LOW_L)]] == [1, 2, 3, 4]
    assert [credit_loyalty_class(c, l).rank for c, l in [(HIGH_C, HIGH_L), (HIGH_C, LOW_L), (LOW_C, HIGH_L), (LOW_C, LOW_L)]] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "attractiveness, advantage, cls",
    [(80, 80, KA.KEY), (50, 50, KA.KEY), (80, 49.9, KA.KEY_DEVELOPMENT), (20, 90, KA.MAINTENANCE),
     (49.99, 49.99, KA.OPPORTUNISTIC), (0, 0, KA.OPPORTUNISTIC), (100, 100, KA.KEY)],
)
def test_cheverton_matrix(attractiveness, advantage, cls):
    assert key_account_class(D(str(attractiveness)), D(str(advantage))) == cls


def test_scores_out_of_range_are_rejected():
    with pytest.raises(ValueError):
        key_account_class(D(101), D(5))
