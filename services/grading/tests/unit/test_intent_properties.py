"""Property tests: intent grading is a pure function of the SET of facts."""
from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.grading.domain.facts import (
    ComplaintFiledFact,
    ConsultantOverrideFact,
    ContactReceivedFact,
    DealClosedFact,
    FollowUpFact,
    LossApprovedFact,
)
from services.grading.domain.intent import (
    ProspectGrading,
    ProspectStatus,
    decision_from_history,
    grade_from_facts,
    ordered_facts,
)
from shared.events.enums import Channel, FollowUpOutcome, IntentGrade, LossReason, PurchaseTimeframe

from .factories import T0

# Few distinct instants and time zones so that ties and zone conversions occur.
instants = st.builds(
    lambda hours, tz_hours: (T0 + timedelta(hours=hours)).astimezone(timezone(timedelta(hours=tz_hours))),
    st.integers(0, 40), st.sampled_from([0, 8, -5]),
)
ids = st.uuids()
timeframes = st.none() | st.sampled_from(list(PurchaseTimeframe))
deposits = st.none() | st.sampled_from([Decimal(0), Decimal("500"), Decimal("999.99"), Decimal("1000"), Decimal("3000")])

contacts = st.builds(ContactReceivedFact, fact_id=ids, occurred_at=instants, channel=st.sampled_from(list(Channel)),
                     purchase_timeframe=timeframes, initial_grade=st.none() | st.sampled_from(list(IntentGrade)))
follow_ups = st.builds(FollowUpFact, fact_id=ids, occurred_at=instants, outcome=st.sampled_from(list(FollowUpOutcome)),
                       test_drive=st.booleans(), quote_accepted=st.booleans(), budget_confirmed=st.booleans(),
                       deposit_amount=deposits, purchase_timeframe=timeframes)
other = st.one_of(
    st.builds(DealClosedFact, fact_id=ids, occurred_at=instants),
    st.builds(ComplaintFiledFact, fact_id=ids, occurred_at=instants),
    st.builds(ConsultantOverrideFact, fact_id=ids, occurred_at=instants, grade=st.sampled_from(list(IntentGrade)),
              reason=st.just("reason"), overridden_by=st.sampled_from(["a", "b"])),
    st.builds(LossApprovedFact, fact_id=ids, occurred_at=instants, reason=st.sampled_from(list(LossReason)),
              approved_by=st.just("m")),
)
fact = st.one_of(contacts, follow_ups, follow_ups, other)
fact_lists = st.lists(fact, max_size=25, unique_by=lambda f: f.fact_id)


@settings(max_examples=300, deadline=None)
@given(fact_lists)
def test_grading_is_deterministic(facts):
    assert grade_from_facts(facts) == grade_from_facts(list(facts))


@settings(max_examples=300, deadline=None)
@given(fact_lists, st.randoms(use_true_random=False))
def test_any_permutation_gives_the_same_grade_and_history(facts, rnd):
    shuffled = list(facts)
    rnd.shuffle(shuffled)
    assert grade_from_facts(shuffled) == grade_from_facts(facts)


@settings(max_examples=200, deadline=None)
@given(fact_lists, st.randoms(use_true_random=False))
def test_duplicated_deliveries_change_nothing(facts, rnd):
    doubled = facts + [rnd.choice(facts) for _ in range(len(facts))] if facts else []
    assert grade_from_facts(doubled) == grade_from_facts(facts)


@settings(max_examples=300, deadline=None)
@given(fact_lists)
def test_incremental_apply_equals_replay(facts):
    incremental = ProspectGrading()
    emitted = []
    for f in ordered_facts(facts):
        emitted.extend(incremental.apply(f))
    replayed = ProspectGrading.replay(facts)
    assert incremental == replayed
    assert tuple(emitted) == grade_from_facts(facts).history
    assert decision_from_history(emitted) == replayed.decision


@settings(max_examples=300, deadline=None)
@given(fact_lists)
def test_history_is_a_chain_and_invariants_hold(facts):
    result = grade_from_facts(facts)
    previous = (None, ProspectStatus.NEW)
    for change in result.history:
        assert (change.previous_grade, change.previous_status) == previous
        previous = (change.grade, change.status)
        assert (change.grade is None) == (change.status == ProspectStatus.LOST)
        if change.status == ProspectStatus.CUSTOMER:
            assert change.grade == IntentGrade.O
        if change.grade == IntentGrade.O and change.rule.value not in ("deposit", "deal", "override"):
            raise AssertionError(f"O reached by {change.rule}")
    assert (result.decision.grade, result.decision.status) == previous
    times = [c.occurred_at for c in result.history]
    assert times == sorted(times)


@settings(max_examples=200, deadline=None)
@given(fact_lists, fact_lists)
def test_prefix_then_suffix_equals_whole(first, second):
    """Applying a later batch to a state equals replaying everything (when the batch is newer)."""
    facts = {f.fact_id: f for f in first + second}.values()
    ordered = ordered_facts(facts)
    cut = len(ordered) // 2
    state = ProspectGrading.replay(ordered[:cut])
    for f in ordered[cut:]:
        state.apply(f)
    assert state == ProspectGrading.replay(ordered)
