"""Prospect intent grading (确度判别 / 有望客户级别), spec section 2.

The grade is a pure function of the SET of facts: `grade_from_facts` removes
duplicates, sorts by `(occurred_at, fact_id)` and folds. `ProspectGrading` is
the fold's state; its `apply` serves incremental use and refuses a fact older
than the last one applied (`OutOfOrderFactError`: replay instead).

The rules, in the order they are checked for one fact (G = current grade;
"raise" moves one step hotter, "lower" one step colder, C stays C):

- deposit: received deposits add up; when their total reaches the policy
  threshold (1,000 CNY, seed) the grade is O. A smaller deposit is a buying
  signal.
- deal: a deal makes the prospect a customer: grade O, status `customer`.
- O is sticky: once O, only an override, a deal or a loss change it (stated
  time frames, silence and refusals do not undo an order).
- timeframe: a stated purchase time frame sets G from the policy mapping
  (H within 7 days, A within 1 month, B 1-3 months, C over 3 months or
  undecided). A time frame never gives O.
- buying_signal: a follow-up with a test drive, an accepted quote, a confirmed
  budget or a deposit below the threshold raises G by `signal_raise_steps`
  (one) but never above `signal_ceiling` (H): only an order or a deposit
  reaches O. Several signals in one follow-up count once.
- repeat_visit: the `visits_for_raise`-th visit (2nd by default; a walk-in
  contact or a follow-up with outcome `visited`) raises G once per cycle.
- missed_follow_ups: `no_answer` outcomes in a row are counted; at N (2 by
  default) G is lowered and the count starts again. Any response (reached,
  visited, declined, a new contact, a complaint) resets the count.
- declined: a follow-up with outcome `declined` lowers G by
  `declined_downgrade_steps` (one by default).
- override: a consultant sets G, with reason and name. The override stands
  until new evidence: a later fact whose rules would change the grade. Facts
  that would leave the grade as it is keep the override.
- lost: an approved loss ends the grading: no active grade, status `lost`,
  with the reason.
- a new cycle: a contact received for a lost prospect or a customer opens a
  new prospect cycle (a base customer back for a replacement or additional
  purchase is a prospect again). A lost prospect also comes back by a deal or
  a deposit reaching the threshold. Other facts for a lost prospect or a
  customer (after-sales follow-ups, overrides) change nothing.
- first grade: the first contact's grade is its time frame's grade, else its
  initial grade (capped at H: the reception log grades H/A/B/C), else its
  channel's default, else `undecided_grade` (C). A prospect whose first fact
  is a follow-up starts at `undecided_grade`.
- a complaint never changes the intent grade (it counts as a response).

One fact yields at most one GradeChange: the net change, labelled with the
last rule that moved the grade (`rule`) and all rules that did (`rules`).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.events.enums import Channel, FollowUpOutcome, IntentGrade, LossReason
from shared.events.contract import GradeStep, ProspectGraded

from .facts import (
    ComplaintFiledFact,
    ContactReceivedFact,
    ConsultantOverrideFact,
    DealClosedFact,
    FollowUpFact,
    GradingFact,
    LossApprovedFact,
)
from .policy import DEFAULT_POLICY, GradingPolicy


class ProspectStatus(StrEnum):
    NEW = "new"  # no fact yet
    ACTIVE = "active"  # a prospect with a grade
    LOST = "lost"  # 战败: no active grade
    CUSTOMER = "customer"  # a deal was closed: grade O, grading closed


class GradeRule(StrEnum):
    """The rule that decided a grade (ProspectGraded.rule)."""

    TIMEFRAME = "timeframe"
    INITIAL_GRADE = "initial_grade"
    CHANNEL_DEFAULT = "channel_default"
    UNDECIDED = "undecided"
    DEPOSIT = "deposit"
    DEAL = "deal"
    BUYING_SIGNAL = "buying_signal"
    REPEAT_VISIT = "repeat_visit"
    MISSED_FOLLOW_UPS = "missed_follow_ups"
    DECLINED = "declined"
    OVERRIDE = "override"
    LOST = "lost"


class OutOfOrderFactError(ValueError):
    """A fact older than the last applied one: replay the whole set instead."""


class GradeChange(BaseModel):
    """One change of grade or status, with its cause (the grading history)."""

    model_config = ConfigDict(frozen=True)

    previous_grade: IntentGrade | None
    grade: IntentGrade | None
    previous_status: ProspectStatus
    status: ProspectStatus
    rule: GradeRule
    rules: tuple[GradeRule, ...]
    cause_fact_id: uuid.UUID
    occurred_at: datetime
    overridden_by: str | None = None
    override_reason: str | None = None
    loss_reason: LossReason | None = None
    loss_note: str | None = None
    policy_version: str


class GradeDecision(BaseModel):
    """The current grade and why: what a ProspectGraded event reports."""

    model_config = ConfigDict(frozen=True)

    grade: IntentGrade | None
    status: ProspectStatus
    rule: GradeRule | None
    cause_fact_id: uuid.UUID | None
    decided_at: datetime | None
    overridden_by: str | None = None
    override_reason: str | None = None
    loss_reason: LossReason | None = None
    loss_note: str | None = None
    policy_version: str

    @classmethod
    def from_change(cls, change: GradeChange) -> GradeDecision:
        return cls(
            grade=change.grade,
            status=change.status,
            rule=change.rule,
            cause_fact_id=change.cause_fact_id,
            decided_at=change.occurred_at,
            overridden_by=change.overridden_by,
            override_reason=change.override_reason,
            loss_reason=change.loss_reason,
            loss_note=change.loss_note,
            policy_version=change.policy_version,
        )


class GradingResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision: GradeDecision
    history: tuple[GradeChange, ...]


def raise_grade(grade: IntentGrade, steps: int, ceiling: IntentGrade) -> IntentGrade:
    """`steps` hotter, never hotter than `ceiling`; a grade above the ceiling stays."""
    if grade.rank <= ceiling.rank:
        return grade
    return _GRADES[max(grade.rank - steps, ceiling.rank)]


def cap_grade(grade: IntentGrade, ceiling: IntentGrade) -> IntentGrade:
    """`grade`, or `ceiling` if `grade` is hotter."""
    return ceiling if grade.rank < ceiling.rank else grade


def lower_grade(grade: IntentGrade, steps: int) -> IntentGrade:
    """`steps` colder, C at most."""
    return _GRADES[min(grade.rank + steps, len(_GRADES) - 1)]


_GRADES = list(IntentGrade)


@dataclass
class ProspectGrading:
    """The fold state of one prospect's grading; `apply` one fact at a time."""

    policy: GradingPolicy = DEFAULT_POLICY
    grade: IntentGrade | None = None
    status: ProspectStatus = ProspectStatus.NEW
    rule: GradeRule | None = None
    cause_fact_id: uuid.UUID | None = None
    decided_at: datetime | None = None
    overridden_by: str | None = None
    override_reason: str | None = None
    loss_reason: LossReason | None = None
    loss_note: str | None = None
    missed_in_a_row: int = 0
    visits: int = 0
    visit_raise_done: bool = False
    deposits_received: Decimal = Decimal(0)
    last_key: tuple | None = None
    seen_fact_ids: set[uuid.UUID] = field(default_factory=set)
    history: list[GradeChange] = field(default_factory=list)

    # -- public API ---------------------------------------------------------

    @classmethod
    def replay(cls, facts: Iterable[GradingFact], policy: GradingPolicy = DEFAULT_POLICY) -> ProspectGrading:
        """The state after the set of facts, whatever their arrival order."""
        state = cls(policy=policy)
        for fact in ordered_facts(facts):
            state.apply(fact)
        return state

    @property
    def decision(self) -> GradeDecision:
        return GradeDecision(
            grade=self.grade,
            status=self.status,
            rule=self.rule,
            cause_fact_id=self.cause_fact_id,
            decided_at=self.decided_at,
            overridden_by=self.overridden_by,
            override_reason=self.override_reason,
            loss_reason=self.loss_reason,
            loss_note=self.loss_note,
            policy_version=self.policy.version,
        )

    def is_in_order(self, fact: GradingFact) -> bool:
        """False when `fact` is older than the last applied fact (replay needed)."""
        return self.last_key is None or fact.sort_key > self.last_key or fact.fact_id in self.seen_fact_ids

    def apply(self, fact: GradingFact) -> list[GradeChange]:
        """Apply one fact; returns the changes it caused (none or one).

        A fact already applied (same fact_id) is ignored. A fact older than
        the last applied one raises OutOfOrderFactError.
        """
        if fact.fact_id in self.seen_fact_ids:
            return []
        if self.last_key is not None and fact.sort_key < self.last_key:
            raise OutOfOrderFactError(f"fact {fact.fact_id} is older than the last applied fact")
        self.seen_fact_ids.add(fact.fact_id)
        self.last_key = fact.sort_key
        before = (self.grade, self.status)
        step = _Step(self.grade, self.status)
        match fact:
            case ContactReceivedFact():
                self._contact(fact, step)
            case FollowUpFact():
                self._follow_up(fact, step)
            case DealClosedFact():
                self._deal(step)
            case ComplaintFiledFact():
                if self.status == ProspectStatus.ACTIVE:
                    self.missed_in_a_row = 0
            case ConsultantOverrideFact():
                self._override(fact, step)
            case LossApprovedFact():
                self._loss(fact, step)
        if (step.grade, step.status) == before and not step.override:
            return []
        return [self._commit(fact, step, before)]

    # -- rules --------------------------------------------------------------

    def _contact(self, fact: ContactReceivedFact, step: _Step) -> None:
        rules = self.policy.intent
        is_visit = fact.channel == Channel.WALK_IN
        if self.status != ProspectStatus.ACTIVE:
            self._new_cycle()
            if fact.purchase_timeframe is not None:
                step.set(rules.timeframe_grades[fact.purchase_timeframe], GradeRule.TIMEFRAME, force=True)
            elif fact.initial_grade is not None:
                step.set(cap_grade(fact.initial_grade, rules.signal_ceiling), GradeRule.INITIAL_GRADE, force=True)
            elif fact.channel in rules.channel_default_grades:
                step.set(rules.channel_default_grades[fact.channel], GradeRule.CHANNEL_DEFAULT, force=True)
            else:
                step.set(rules.undecided_grade, GradeRule.UNDECIDED, force=True)
            step.status = ProspectStatus.ACTIVE
        elif step.grade != IntentGrade.O and fact.purchase_timeframe is not None:
            step.set(rules.timeframe_grades[fact.purchase_timeframe], GradeRule.TIMEFRAME)
        self.missed_in_a_row = 0
        if is_visit:
            self._count_visit(step)

    def _follow_up(self, fact: FollowUpFact, step: _Step) -> None:
        rules = self.policy.intent
        if self.status == ProspectStatus.CUSTOMER:
            return  # after-sales follow-up (3-day call, care): not intent grading
        deposit = fact.deposit_amount or Decimal(0)
        if self.status == ProspectStatus.LOST:
            if deposit >= rules.deposit_threshold_for_order:
                self._new_cycle()
                self.deposits_received = deposit
                step.set(IntentGrade.O, GradeRule.DEPOSIT)
                step.status = ProspectStatus.ACTIVE
            return
        if self.status == ProspectStatus.NEW:
            step.set(rules.undecided_grade, GradeRule.UNDECIDED, force=True)
            step.status = ProspectStatus.ACTIVE
        self.deposits_received += deposit
        outcome = fact.outcome
        if outcome != FollowUpOutcome.NO_ANSWER:
            self.missed_in_a_row = 0
        if step.grade != IntentGrade.O and self.deposits_received >= rules.deposit_threshold_for_order:
            step.set(IntentGrade.O, GradeRule.DEPOSIT)
        if step.grade == IntentGrade.O:  # sticky: bookkeeping only
            if outcome == FollowUpOutcome.VISITED:
                self.visits += 1
            elif outcome == FollowUpOutcome.NO_ANSWER:
                self.missed_in_a_row += 1
            return
        assert step.grade is not None
        if fact.purchase_timeframe is not None:
            step.set(rules.timeframe_grades[fact.purchase_timeframe], GradeRule.TIMEFRAME)
        if fact.has_buying_signal or deposit > 0:
            step.set(raise_grade(step.grade, rules.signal_raise_steps, rules.signal_ceiling), GradeRule.BUYING_SIGNAL)
        if outcome == FollowUpOutcome.VISITED:
            self._count_visit(step)
        elif outcome == FollowUpOutcome.DECLINED:
            step.set(lower_grade(step.grade, rules.declined_downgrade_steps), GradeRule.DECLINED)
        elif outcome == FollowUpOutcome.NO_ANSWER:
            self.missed_in_a_row += 1
            if self.missed_in_a_row >= rules.missed_follow_ups_before_downgrade:
                self.missed_in_a_row = 0
                step.set(lower_grade(step.grade, 1), GradeRule.MISSED_FOLLOW_UPS)

    def _deal(self, step: _Step) -> None:
        if self.status == ProspectStatus.CUSTOMER:
            return  # a further purchase of a customer: value grading's business
        self.missed_in_a_row = 0
        step.set(IntentGrade.O, GradeRule.DEAL, force=True)
        step.status = ProspectStatus.CUSTOMER

    def _override(self, fact: ConsultantOverrideFact, step: _Step) -> None:
        if self.status in (ProspectStatus.LOST, ProspectStatus.CUSTOMER):
            return  # reopen a lost prospect with a new contact, not an override
        step.set(fact.grade, GradeRule.OVERRIDE, force=True)
        step.status = ProspectStatus.ACTIVE
        step.override = (fact.overridden_by, fact.reason)

    def _loss(self, fact: LossApprovedFact, step: _Step) -> None:
        if self.status in (ProspectStatus.LOST, ProspectStatus.CUSTOMER):
            return  # the first approved loss stands; a customer is not a lost prospect
        step.grade = None
        step.rule = GradeRule.LOST
        step.rules.append(GradeRule.LOST)
        step.status = ProspectStatus.LOST
        step.loss = (fact.reason, fact.note)

    # -- bookkeeping --------------------------------------------------------

    def _count_visit(self, step: _Step) -> None:
        self.visits += 1
        rules = self.policy.intent
        if (
            rules.visits_for_raise
            and not self.visit_raise_done
            and self.visits >= rules.visits_for_raise
            and step.grade not in (None, IntentGrade.O)
        ):
            self.visit_raise_done = True
            step.set(raise_grade(step.grade, 1, rules.signal_ceiling), GradeRule.REPEAT_VISIT)

    def _new_cycle(self) -> None:
        self.missed_in_a_row = 0
        self.visits = 0
        self.visit_raise_done = False
        self.deposits_received = Decimal(0)

    def _commit(self, fact: GradingFact, step: _Step, before: tuple) -> GradeChange:
        assert step.rule is not None
        self.grade, self.status = step.grade, step.status
        self.rule = step.rule
        self.cause_fact_id = fact.fact_id
        self.decided_at = fact.occurred_at
        self.overridden_by, self.override_reason = step.override or (None, None)
        self.loss_reason, self.loss_note = step.loss or (None, None)
        change = GradeChange(
            previous_grade=before[0],
            grade=self.grade,
            previous_status=before[1],
            status=self.status,
            rule=self.rule,
            rules=tuple(step.rules),
            cause_fact_id=fact.fact_id,
            occurred_at=fact.occurred_at,
            overridden_by=self.overridden_by,
            override_reason=self.override_reason,
            loss_reason=self.loss_reason,
            loss_note=self.loss_note,
            policy_version=self.policy.version,
        )
        self.history.append(change)
        return change


@dataclass
class _Step:
    """The grade as the rules move it while one fact is applied."""

    grade: IntentGrade | None
    status: ProspectStatus
    rule: GradeRule | None = None
    rules: list[GradeRule] = field(default_factory=list)
    override: tuple[str, str] | None = None
    loss: tuple[LossReason, str | None] | None = None

    def set(self, grade: IntentGrade, rule: GradeRule, *, force: bool = False) -> None:
        if grade != self.grade or force:
            self.grade = grade
            self.rule = rule
            self.rules.append(rule)


def ordered_facts(facts: Iterable[GradingFact]) -> list[GradingFact]:
    """The set of facts in replay order; duplicates (same fact_id) removed.

    Two different facts with the same fact_id are a contract violation and
    raise ValueError (keeping either would depend on arrival order).
    """
    by_id: dict[uuid.UUID, GradingFact] = {}
    for fact in facts:
        known = by_id.setdefault(fact.fact_id, fact)
        if known is not fact and known != fact:  # (comparing a model with itself is not free)
            raise ValueError(f"two different facts share fact_id {fact.fact_id}")
    return sorted(by_id.values(), key=lambda f: f.sort_key)


def grade_from_facts(facts: Iterable[GradingFact], policy: GradingPolicy = DEFAULT_POLICY) -> GradingResult:
    """The grade decision and the full change history for a set of facts."""
    state = ProspectGrading.replay(facts, policy)
    return GradingResult(decision=state.decision, history=tuple(state.history))


def decision_from_history(history: Iterable[GradeChange], policy: GradingPolicy = DEFAULT_POLICY) -> GradeDecision:
    """The decision a history ends in (the last change), or the empty decision."""
    last = None
    for last in history:
        pass
    if last is None:
        return ProspectGrading(policy=policy).decision
    return GradeDecision.from_change(last)


def prospect_graded_payload(history: Sequence[GradeChange], consultant_id: str | None = None,
                            revision: int = 1) -> ProspectGraded | None:
    """The ProspectGraded payload for a history: its latest grade (with that change's cause) and the
    whole history; None when no change has a grade (a loss is published as ProspectLost by the
    command side)."""
    graded = [c for c in history if c.grade is not None]
    if not graded:
        return None
    change = graded[-1]
    return ProspectGraded(
        grade=change.grade,
        previous_grade=change.previous_grade,
        rule=change.rule.value,
        cause_event_id=change.cause_fact_id,
        overridden_by=change.overridden_by,
        override_reason=change.override_reason,
        policy_version=change.policy_version,
        consultant_id=consultant_id,
        history=[GradeStep(grade=c.grade, previous_grade=c.previous_grade, status=c.status.value, rule=c.rule.value,
                           at=c.occurred_at, cause_event_id=c.cause_fact_id, overridden_by=c.overridden_by)
                 for c in history],
        revision=revision,
    )
