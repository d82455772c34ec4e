"""Pins every intent grading rule (spec section 2, 确度判别基准)."""
import uuid
from decimal import Decimal

import pytest

from services.grading.domain.facts import FollowUpFact, fact_from_payload
from services.grading.domain.intent import (
    GradeRule,
    OutOfOrderFactError,
    ProspectGrading,
    ProspectStatus,
    decision_from_history,
    grade_from_facts,
    ordered_facts,
    prospect_graded_payload,
)
from services.grading.domain.policy import GradingPolicy, IntentRules
from shared.events.enums import Channel, FollowUpOutcome, IntentGrade, LossReason, PurchaseTimeframe
from shared.events.contract import FollowUpLogged, ProspectGraded, TaskScheduled

from .factories import at, complaint, contact, deal, fid, follow_up, lost, no_answer, override

G = IntentGrade
TF = PurchaseTimeframe


def grade_of(*facts, policy=None):
    result = grade_from_facts(facts, policy) if policy else grade_from_facts(facts)
    return result.decision


# -- first grade ---------------------------------------------------------------

@pytest.mark.parametrize(
    "timeframe, expected",
    [(TF.NOW, G.H), (TF.WITHIN_7_DAYS, G.H), (TF.WITHIN_1_MONTH, G.A), (TF.ONE_TO_3_MONTHS, G.B),
     (TF.OVER_3_MONTHS, G.C), (TF.UNDECIDED, G.C)],
)
def test_each_time_frame_maps_to_its_grade(timeframe, expected):
    d = grade_of(contact(0, Channel.PHONE, purchase_timeframe=timeframe))
    assert d.grade == expected and d.rule == GradeRule.TIMEFRAME and d.status == ProspectStatus.ACTIVE


def test_time_frame_wins_over_the_initial_grade():
    assert grade_of(contact(0, purchase_timeframe=TF.ONE_TO_3_MONTHS, initial_grade=G.H)).grade == G.B


@pytest.mark.parametrize("initial, expected", [(G.H, G.H), (G.A, G.A), (G.B, G.B), (G.C, G.C), (G.O, G.H)])
def test_initial_grade_is_used_and_capped_at_h(initial, expected):
    d = grade_of(contact(0, Channel.PHONE, initial_grade=initial))
    assert d.grade == expected and d.rule == GradeRule.INITIAL_GRADE


def test_undecided_contact_is_c_and_channel_default_is_configurable():
    assert grade_of(contact(0, Channel.EXHIBITION)).grade == G.C
    policy = GradingPolicy(intent=IntentRules(channel_default_grades={Channel.CUSTOMER_REFERRAL: G.B}))
    d = grade_of(contact(0, Channel.CUSTOMER_REFERRAL), policy=policy)
    assert d.grade == G.B and d.rule == GradeRule.CHANNEL_DEFAULT and d.policy_version == policy.version


def test_a_follow_up_without_contact_starts_from_undecided():
    d = grade_of(follow_up(0, purchase_timeframe=TF.WITHIN_1_MONTH))
    assert d.grade == G.A
    assert grade_of(follow_up(0)).grade == G.C


# -- deposit and order ------------------------------------------------------------

def test_deposit_of_999_99_is_not_an_order_but_a_buying_signal():
    d = grade_of(contact(0, Channel.PHONE, purchase_timeframe=TF.ONE_TO_3_MONTHS), follow_up(1, deposit_amount="999.99"))
    assert d.grade == G.A and d.rule == GradeRule.BUYING_SIGNAL


def test_deposit_of_1000_is_an_order():
    c = contact(0, Channel.PHONE, purchase_timeframe=TF.OVER_3_MONTHS)
    f = follow_up(1, deposit_amount="1000")
    d = grade_of(c, f)
    assert d.grade == G.O and d.rule == GradeRule.DEPOSIT and d.cause_fact_id == f.fact_id


def test_deposits_add_up_to_the_threshold():
    d = grade_of(contact(0, Channel.PHONE), follow_up(1, deposit_amount="600"), follow_up(2, deposit_amount="400"))
    assert d.grade == G.O and d.rule == GradeRule.DEPOSIT


def test_order_is_sticky_against_time_frame_silence_and_refusal():
    facts = [contact(0, purchase_timeframe=TF.WITHIN_1_MONTH), follow_up(1, deposit_amount=5000),
             follow_up(2, purchase_timeframe=TF.OVER_3_MONTHS), no_answer(3), no_answer(4), no_answer(5),
             follow_up(6, FollowUpOutcome.DECLINED)]
    assert grade_of(*facts).grade == G.O


def test_deal_makes_the_prospect_a_customer():
    c, d_ = contact(0, purchase_timeframe=TF.ONE_TO_3_MONTHS), deal(3)
    result = grade_from_facts([c, d_])
    assert result.decision.grade == G.O and result.decision.status == ProspectStatus.CUSTOMER
    last = result.history[-1]
    assert (last.previous_grade, last.grade, last.previous_status, last.status, last.rule) == (
        G.B, G.O, ProspectStatus.ACTIVE, ProspectStatus.CUSTOMER, GradeRule.DEAL)


def test_deal_after_a_deposit_only_changes_the_status():
    result = grade_from_facts([contact(0), follow_up(1, deposit_amount=1000), deal(2)])
    assert [(c.grade, c.status) for c in result.history][-2:] == [
        (G.O, ProspectStatus.ACTIVE), (G.O, ProspectStatus.CUSTOMER)]


def test_after_sales_follow_ups_do_not_touch_a_customer():
    facts = [contact(0), deal(1), no_answer(4), no_answer(5), follow_up(6, FollowUpOutcome.DECLINED),
             override(7, G.C), deal(30)]
    result = grade_from_facts(facts)
    assert result.decision.grade == G.O and result.decision.status == ProspectStatus.CUSTOMER
    assert len(result.history) == 2


# -- buying signals ----------------------------------------------------------------

@pytest.mark.parametrize("signal", ["test_drive", "quote_accepted", "budget_confirmed"])
def test_each_buying_signal_raises_one_step(signal):
    d = grade_of(contact(0, Channel.PHONE, purchase_timeframe=TF.OVER_3_MONTHS), follow_up(1, **{signal: True}))
    assert d.grade == G.B and d.rule == GradeRule.BUYING_SIGNAL


def test_several_signals_in_one_follow_up_count_once():
    f = follow_up(1, test_drive=True, quote_accepted=True, budget_confirmed=True)
    assert grade_of(contact(0, Channel.PHONE, purchase_timeframe=TF.OVER_3_MONTHS), f).grade == G.B


def test_signals_never_raise_above_h():
    facts = [contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_1_MONTH)]
    facts += [follow_up(i, test_drive=True) for i in range(1, 5)]
    result = grade_from_facts(facts)
    assert result.decision.grade == G.H
    assert [c.grade for c in result.history] == [G.A, G.H]


def test_time_frame_in_a_follow_up_then_signal_on_top():
    result = grade_from_facts([contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_7_DAYS),
                               follow_up(1, purchase_timeframe=TF.ONE_TO_3_MONTHS, test_drive=True)])
    last = result.history[-1]
    assert (last.previous_grade, last.grade, last.rule, last.rules) == (
        G.H, G.A, GradeRule.BUYING_SIGNAL, (GradeRule.TIMEFRAME, GradeRule.BUYING_SIGNAL))


def test_a_time_frame_can_lower_the_grade():
    d = grade_of(contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_7_DAYS),
                 follow_up(1, purchase_timeframe=TF.OVER_3_MONTHS))
    assert d.grade == G.C and d.rule == GradeRule.TIMEFRAME


# -- visits --------------------------------------------------------------------------

def test_second_visit_raises_once():
    facts = [contact(0, Channel.WALK_IN, purchase_timeframe=TF.OVER_3_MONTHS)]
    assert grade_of(*facts).grade == G.C
    facts.append(follow_up(3, FollowUpOutcome.VISITED))
    d = grade_of(*facts)
    assert d.grade == G.B and d.rule == GradeRule.REPEAT_VISIT
    facts.append(follow_up(6, FollowUpOutcome.VISITED))
    assert grade_of(*facts).grade == G.B  # once per cycle


def test_a_phone_contact_is_not_a_visit():
    d = grade_of(contact(0, Channel.PHONE, purchase_timeframe=TF.OVER_3_MONTHS), follow_up(2, FollowUpOutcome.VISITED))
    assert d.grade == G.C


def test_a_second_walk_in_contact_counts_as_a_visit():
    d = grade_of(contact(0, Channel.WALK_IN), contact(5, Channel.WALK_IN))
    assert d.grade == G.B and d.rule == GradeRule.REPEAT_VISIT


# -- missed follow-ups and refusal -------------------------------------------------------

def test_one_missed_follow_up_keeps_the_grade_two_in_a_row_downgrade():
    base = [contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_1_MONTH)]
    assert grade_of(*base, no_answer(1)).grade == G.A
    d = grade_of(*base, no_answer(1), no_answer(2))
    assert d.grade == G.B and d.rule == GradeRule.MISSED_FOLLOW_UPS


def test_a_response_resets_the_streak():
    base = [contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_1_MONTH)]
    assert grade_of(*base, no_answer(1), follow_up(2), no_answer(3)).grade == G.A
    assert grade_of(*base, no_answer(1), follow_up(2, FollowUpOutcome.VISITED), no_answer(3)).grade == G.A
    assert grade_of(*base, no_answer(1), complaint(2), no_answer(3)).grade == G.A


def test_four_missed_follow_ups_downgrade_twice_and_c_stays_c():
    base = [contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_1_MONTH)]
    assert grade_of(*base, *[no_answer(i) for i in range(1, 5)]).grade == G.C
    assert grade_of(*base, *[no_answer(i) for i in range(1, 9)]).grade == G.C


def test_missed_follow_ups_threshold_is_configurable():
    policy = GradingPolicy(intent=IntentRules(missed_follow_ups_before_downgrade=3))
    base = [contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_1_MONTH)]
    assert grade_of(*base, no_answer(1), no_answer(2), policy=policy).grade == G.A
    assert grade_of(*base, no_answer(1), no_answer(2), no_answer(3), policy=policy).grade == G.B


def test_declined_lowers_one_step():
    d = grade_of(contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_7_DAYS), follow_up(1, FollowUpOutcome.DECLINED))
    assert d.grade == G.A and d.rule == GradeRule.DECLINED


def test_complaint_never_changes_the_intent_grade():
    result = grade_from_facts([contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_1_MONTH), complaint(1)])
    assert result.decision.grade == G.A and len(result.history) == 1
    assert grade_from_facts([complaint(0)]).decision.status == ProspectStatus.NEW


# -- override ----------------------------------------------------------------------------

def test_override_sets_the_grade_with_who_and_why():
    o = override(1, G.H, reason="brother-in-law", by="zhang")
    d = grade_of(contact(0, Channel.PHONE, purchase_timeframe=TF.OVER_3_MONTHS), o)
    assert (d.grade, d.rule, d.overridden_by, d.override_reason, d.cause_fact_id) == (
        G.H, GradeRule.OVERRIDE, "zhang", "brother-in-law", o.fact_id)


def test_override_is_kept_while_facts_do_not_change_the_grade():
    facts = [contact(0, Channel.PHONE, purchase_timeframe=TF.OVER_3_MONTHS), override(1, G.H),
             follow_up(2), follow_up(3, test_drive=True), follow_up(4, purchase_timeframe=TF.WITHIN_7_DAYS),
             no_answer(5), complaint(6)]
    d = grade_of(*facts)
    assert d.grade == G.H and d.rule == GradeRule.OVERRIDE and d.overridden_by == "consultant-7"


def test_new_evidence_ends_the_override():
    facts = [contact(0, Channel.PHONE, purchase_timeframe=TF.OVER_3_MONTHS), override(1, G.H),
             follow_up(2, purchase_timeframe=TF.ONE_TO_3_MONTHS)]
    d = grade_of(*facts)
    assert d.grade == G.B and d.rule == GradeRule.TIMEFRAME and d.overridden_by is None
    d2 = grade_of(*facts[:2], no_answer(2), no_answer(3))
    assert d2.grade == G.A and d2.rule == GradeRule.MISSED_FOLLOW_UPS and d2.overridden_by is None


def test_override_to_the_same_grade_is_recorded():
    result = grade_from_facts([contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_1_MONTH), override(1, G.A)])
    assert result.history[-1].previous_grade == result.history[-1].grade == G.A
    assert result.decision.overridden_by == "consultant-7"


# -- loss and new cycles ---------------------------------------------------------------------

@pytest.mark.parametrize("reason", list(LossReason))
def test_lost_prospect_has_no_active_grade_and_keeps_the_reason(reason):
    d = grade_of(contact(0, purchase_timeframe=TF.WITHIN_1_MONTH), lost(5, reason))
    assert (d.grade, d.status, d.rule, d.loss_reason, d.loss_note) == (
        None, ProspectStatus.LOST, GradeRule.LOST, reason, "bought X")


def test_facts_after_a_loss_change_nothing_except_new_interest():
    base = [contact(0, purchase_timeframe=TF.WITHIN_1_MONTH), lost(5)]
    for extra in (follow_up(6, test_drive=True), no_answer(7), override(8, G.H), lost(9, LossReason.PRICE),
                  complaint(10), follow_up(11, deposit_amount=500)):
        d = grade_of(*base, extra)
        assert d.status == ProspectStatus.LOST and d.loss_reason == LossReason.COMPETITOR
    d = grade_of(*base, contact(20, Channel.PHONE, purchase_timeframe=TF.ONE_TO_3_MONTHS))
    assert (d.grade, d.status, d.loss_reason) == (G.B, ProspectStatus.ACTIVE, None)
    assert grade_of(*base, follow_up(20, deposit_amount=1000)).grade == G.O
    assert grade_of(*base, deal(20)).status == ProspectStatus.CUSTOMER


def test_a_new_contact_opens_a_new_cycle_for_a_customer():
    d = grade_of(contact(0), deal(1), contact(400, Channel.PHONE, purchase_timeframe=TF.WITHIN_1_MONTH))
    assert (d.grade, d.status) == (G.A, ProspectStatus.ACTIVE)


# -- history, order, incremental use --------------------------------------------------------------

def test_history_records_every_change_with_its_cause():
    facts = [contact(0, Channel.PHONE, purchase_timeframe=TF.ONE_TO_3_MONTHS), follow_up(1, test_drive=True),
             no_answer(2), no_answer(3), follow_up(4, deposit_amount=2000), deal(5)]
    result = grade_from_facts(facts)
    assert [(c.previous_grade, c.grade, c.rule) for c in result.history] == [
        (None, G.B, GradeRule.TIMEFRAME), (G.B, G.A, GradeRule.BUYING_SIGNAL),
        (G.A, G.B, GradeRule.MISSED_FOLLOW_UPS), (G.B, G.O, GradeRule.DEPOSIT), (G.O, G.O, GradeRule.DEAL)]
    assert [c.cause_fact_id for c in result.history] == [f.fact_id for f in facts if f is not facts[2]]
    assert all(c.policy_version == "2026.1" for c in result.history)
    assert decision_from_history(result.history) == result.decision


def test_arrival_order_does_not_matter():
    facts = [contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_1_MONTH), no_answer(1), no_answer(2), follow_up(3)]
    assert grade_from_facts(reversed(facts)) == grade_from_facts(facts)


def test_equal_times_are_ordered_by_fact_id():
    a = follow_up(1, purchase_timeframe=TF.WITHIN_1_MONTH)
    b = follow_up(1, purchase_timeframe=TF.OVER_3_MONTHS).model_copy(update={"occurred_at": a.occurred_at})
    first, second = sorted([a, b], key=lambda f: f.fact_id)
    assert grade_of(b, a).grade == grade_of(a, b).grade == (G.A if second is a else G.C)


def test_duplicates_are_ignored_but_conflicting_ids_are_rejected():
    c = contact(0, purchase_timeframe=TF.WITHIN_1_MONTH)
    assert grade_from_facts([c, c]) == grade_from_facts([c])
    clash = follow_up(1).model_copy(update={"fact_id": c.fact_id})
    with pytest.raises(ValueError):
        ordered_facts([c, clash])


def test_incremental_apply_refuses_older_facts_and_ignores_repeats():
    state = ProspectGrading()
    c, late = contact(5), no_answer(1)
    assert len(state.apply(c)) == 1
    assert state.apply(c) == []
    assert not state.is_in_order(late)
    with pytest.raises(OutOfOrderFactError):
        state.apply(late)


def test_empty_set_gives_an_empty_decision():
    d = grade_from_facts([]).decision
    assert (d.grade, d.status, d.rule, d.cause_fact_id) == (None, ProspectStatus.NEW, None, None)


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError):
        FollowUpFact(fact_id=fid(), occurred_at=at(0).replace(tzinfo=None), outcome=FollowUpOutcome.REACHED)


# -- payload adapter ---------------------------------------------------------------------------------

def test_fact_from_payload():
    payload = FollowUpLogged(task_id=uuid.uuid4(), kind="cadence", consultant_id="c1", method="phone",
                             outcome="no_answer", deposit_amount=Decimal("1000.00"), completed_at=at(1))
    fact = fact_from_payload(fid(), at(1), payload)
    assert fact.kind == "follow_up" and fact.deposit_amount == Decimal("1000.00")
    graded = ProspectGraded(grade="H", rule="override", overridden_by="zhang", override_reason="vip",
                            policy_version="1")
    assert fact_from_payload(fid(), at(1), graded).kind == "consultant_override"
    assert fact_from_payload(fid(), at(1), graded.model_copy(update={"rule": "timeframe"})) is None
    task = TaskScheduled(task_id=uuid.uuid4(), kind="x", owner_id="o", due_at=at(2))
    assert fact_from_payload(fid(), at(1), task) is None


def test_changes_map_to_prospect_graded_payloads():
    o = override(1, G.H, reason="vip", by="zhang")
    result = grade_from_facts([contact(0, Channel.PHONE, purchase_timeframe=TF.WITHIN_1_MONTH), o, lost(3)])
    payload = prospect_graded_payload(result.history[:2], consultant_id="zhang", revision=2)
    assert (payload.grade, payload.previous_grade, payload.rule, payload.cause_event_id, payload.overridden_by,
            payload.override_reason, payload.policy_version) == (G.H, G.A, "override", o.fact_id, "zhang", "vip",
                                                                 "2026.1")
    assert fact_from_payload(o.fact_id, o.occurred_at, payload) == o
    assert [(s.previous_grade, s.grade, s.rule) for s in payload.history] == [(None, G.A, "timeframe"),
                                                                                (G.A, G.H, "override")]
    assert payload.revision == 2
    # lost: the history tells it, the payload's grade is the last one the prospect had
    whole = prospect_graded_payload(result.history)
    assert whole.grade == G.H and whole.history[-1].grade is None and whole.history[-1].status == "lost"
    assert prospect_graded_payload(result.history[-1:]) is None
