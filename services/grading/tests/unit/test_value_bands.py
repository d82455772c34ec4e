"""Size (营业收入指标), share stability (市场份额指标), business condition, seed numbers."""
from decimal import Decimal as D

import pytest

from services.grading.domain.policy import GradingPolicy, SizeBands
from services.grading.domain.segments import BusinessCondition as BC
from services.grading.domain.segments import ShareStability as SS
from services.grading.domain.segments import SizeBand as SB
from services.grading.domain.value import business_condition_of, share_stability_of, size_band_of


@pytest.mark.parametrize(
    "revenue, band",
    [
        ("5000000.01", SB.BIG), ("5000000", SB.MEDIUM), ("1000000", SB.MEDIUM), ("999999.99", SB.SMALL),
        ("500000", SB.SMALL), ("499999.99", SB.SMALL), ("50000", SB.SMALL), ("49999.99", SB.OCCASIONAL),
        ("0", SB.OCCASIONAL), ("80000000", SB.BIG), ("2500000", SB.MEDIUM),
    ],
)
def test_size_band_boundaries(revenue, band):
    assert size_band_of(D(revenue)) == band


def test_the_seed_gap_is_configurable():
    policy = GradingPolicy(size=SizeBands(unassigned_band=SB.OCCASIONAL))
    assert size_band_of(D("200000"), policy) == SB.OCCASIONAL
    assert size_band_of(D("500000"), policy) == SB.SMALL


@pytest.mark.parametrize(
    "share, band",
    [("1", SS.STABLE), ("0.80", SS.STABLE), ("0.7999", SS.BASICALLY_STABLE), ("0.50", SS.BASICALLY_STABLE),
     ("0.4999", SS.UNSTABLE), ("0.30", SS.UNSTABLE), ("0.2999", SS.VERY_UNSTABLE), ("0", SS.VERY_UNSTABLE)],
)
def test_share_stability_boundaries(share, band):
    assert share_stability_of(D(share)) == band


def test_share_must_be_a_fraction():
    with pytest.raises(ValueError):
        share_stability_of(D("80"))


@pytest.mark.parametrize(
    "margin, improving, condition",
    [("0.12", False, BC.SPECIAL), ("0.05", False, BC.SPECIAL), ("0.0499", True, BC.FIRST), ("0", False, BC.FIRST),
     ("-0.01", False, BC.FIRST), ("-0.0101", True, BC.SECOND), ("-0.3", True, BC.SECOND), ("-0.3", False, BC.THIRD)],
)
def test_business_condition(margin, improving, condition):
    assert business_condition_of(D(margin), improving) == condition
