"""Pure domain logic of the grading service: no I/O, no framework.

- policy: `GradingPolicy`, `DEFAULT_POLICY` (every threshold, versioned)
- facts, intent: prospect intent grading (确度判别)
- segments: the value vocabularies
- value, pyramid, pareto, credit, loyalty, order_model, key_account,
  lifecycle, lifetime_profit: customer value grading (客户价值)
- ranking: incremental profit ranking for the pyramid tiers
"""
from .facts import (
    ComplaintFiledFact,
    ConsultantOverrideFact,
    ContactReceivedFact,
    DealClosedFact,
    FollowUpFact,
    GradingFact,
    LossApprovedFact,
    fact_from_payload,
)
from .intent import (
    GradeChange,
    GradeDecision,
    GradeRule,
    GradingResult,
    OutOfOrderFactError,
    ProspectGrading,
    ProspectStatus,
    decision_from_history,
    grade_from_facts,
    ordered_facts,
    prospect_graded_payload,
)
from .policy import DEFAULT_POLICY, GradingPolicy
from .ranking import ProfitRanking

__all__ = [
    "DEFAULT_POLICY",
    "ComplaintFiledFact",
    "ConsultantOverrideFact",
    "ContactReceivedFact",
    "DealClosedFact",
    "FollowUpFact",
    "GradeChange",
    "GradeDecision",
    "GradeRule",
    "GradingFact",
    "GradingPolicy",
    "GradingResult",
    "LossApprovedFact",
    "OutOfOrderFactError",
    "ProfitRanking",
    "ProspectGrading",
    "ProspectStatus",
    "decision_from_history",
    "fact_from_payload",
    "grade_from_facts",
    "ordered_facts",
    "prospect_graded_payload",
]
