"""Domain errors of the follow-up service: each names the rule that was broken."""
from __future__ import annotations


class FollowUpDomainError(ValueError):
    """A follow-up business rule refused the request."""


class InvalidTransition(FollowUpDomainError):
    """A state machine (task, loss, complaint) was asked for a move it does not allow."""


class CompletionTimeInvalid(InvalidTransition):
    """A follow-up said to be done at a moment it cannot have been done: in the future, or before the
    work arose."""


class DealInvalid(FollowUpDomainError):
    """A deal failed validation; `problems` lists every rule it broke."""

    def __init__(self, problems: list[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("; ".join(problems))


class NoConsultantAvailable(FollowUpDomainError):
    """Nobody can own the work: no named consultant and an empty team."""
