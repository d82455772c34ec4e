"""Complaint handling (抱怨投诉处理 / 服务补救), in the seed's order.

filed -> acknowledged (take it seriously, 认真对待并确认) -> resolved (cause
analysed and recorded: a root-cause `ComplaintCategory` and a remedy, both
required) -> surveyed (the customer's satisfaction with the resolution, 1-5).

Deadlines come from the severity: acknowledge within N working hours of the
working-hours calendar, resolve within N calendar days of filing. A breached
deadline is escalated to the manager exactly once: each deadline has its own
escalation mark. Any other move raises `InvalidTransition`.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events.enums import Channel, ComplaintCategory, ComplaintSeverity

from .clock import require_aware
from .errors import InvalidTransition
from .policy import FollowUpPolicy
from .tasks import FollowUpTask, TaskKind, schedule_task
from .working_hours import add_working_hours, add_working_time

ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=5000)]
RemedyText = Annotated[str, Field(max_length=2000)]  # as in the ComplaintUpdated contract


class ComplaintStatus(StrEnum):
    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    SURVEYED = "surveyed"


class Deadline(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class ComplaintCase(BaseModel):
    """One complaint and how far its handling got."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    complaint_id: uuid.UUID
    customer_id: uuid.UUID
    severity: ComplaintSeverity
    owner_id: ShortText
    filed_at: AwareDatetime
    acknowledge_due: AwareDatetime
    resolve_due: AwareDatetime
    policy_version: ShortText
    channel: Channel | None = None
    description: Text | None = None
    reported_category: ComplaintCategory | None = None  # as filed, before analysis
    status: ComplaintStatus = ComplaintStatus.FILED
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: ShortText | None = None
    resolved_at: AwareDatetime | None = None
    resolved_by: ShortText | None = None
    root_cause: ComplaintCategory | None = None
    remedy: RemedyText | None = None
    surveyed_at: AwareDatetime | None = None
    satisfaction: Annotated[int, Field(ge=1, le=5)] | None = None
    survey_comment: Text | None = None
    acknowledge_escalated_at: AwareDatetime | None = None
    resolve_escalated_at: AwareDatetime | None = None

    def due(self, deadline: Deadline) -> datetime:
        return self.acknowledge_due if deadline == Deadline.ACKNOWLEDGE else self.resolve_due

    def met_at(self, deadline: Deadline) -> datetime | None:
        """When the deadline's step was done, or None."""
        return self.acknowledged_at if deadline == Deadline.ACKNOWLEDGE else self.resolved_at

    def escalated_at(self, deadline: Deadline) -> datetime | None:
        return self.acknowledge_escalated_at if deadline == Deadline.ACKNOWLEDGE else self.resolve_escalated_at


def complaint_deadlines(severity: ComplaintSeverity, filed_at: datetime,
                        policy: FollowUpPolicy) -> tuple[datetime, datetime]:
    """(acknowledge by, resolve by) for a complaint of `severity` filed at `filed_at`.

    Resolution comes after acknowledgement, so the resolve deadline is never
    earlier than the acknowledge deadline (a high-severity complaint filed on
    Friday evening: 1 calendar day would fall on Saturday, before the Monday
    acknowledge deadline).
    """
    require_aware(filed_at, "filed_at")
    sla = policy.complaint_sla[severity]
    calendar = policy.working_hours
    acknowledge = add_working_hours(filed_at, sla.acknowledge_working_hours, calendar)
    if sla.resolve_in_working_days:
        resolve_by = add_working_time(filed_at, calendar.day_length * sla.resolve_days, calendar)
    else:
        resolve_by = filed_at + timedelta(days=sla.resolve_days)
    return acknowledge, max(resolve_by, acknowledge)


def file_complaint(
    *,
    complaint_id: uuid.UUID,
    customer_id: uuid.UUID,
    severity: ComplaintSeverity,
    owner_id: str,
    filed_at: datetime,
    policy: FollowUpPolicy,
    channel: Channel | None = None,
    description: str | None = None,
    category: ComplaintCategory | None = None,
) -> ComplaintCase:
    """A new FILED case with its deadlines."""
    acknowledge_due, resolve_due = complaint_deadlines(severity, filed_at, policy)
    return ComplaintCase(complaint_id=complaint_id, customer_id=customer_id, severity=severity, owner_id=owner_id,
                         filed_at=filed_at, acknowledge_due=acknowledge_due, resolve_due=resolve_due,
                         policy_version=policy.version, channel=channel, description=description,
                         reported_category=category)


def _require(case: ComplaintCase, status: ComplaintStatus, action: str, now: datetime) -> None:
    require_aware(now)
    if case.status != status:
        raise InvalidTransition(
            f"cannot {action} complaint {case.complaint_id}: it is {case.status.value}, it must be {status.value}")
    if now < case.filed_at:
        raise InvalidTransition(f"cannot {action} complaint {case.complaint_id} before it was filed")


def acknowledge(case: ComplaintCase, *, by: str, now: datetime) -> ComplaintCase:
    """FILED -> ACKNOWLEDGED."""
    _require(case, ComplaintStatus.FILED, "acknowledge", now)
    return case.model_copy(update={"status": ComplaintStatus.ACKNOWLEDGED, "acknowledged_at": now,
                                   "acknowledged_by": by})


def resolve(case: ComplaintCase, *, root_cause: ComplaintCategory | None, remedy: str | None, by: str,
            now: datetime) -> ComplaintCase:
    """ACKNOWLEDGED -> RESOLVED, recording the root cause and the remedy (both required)."""
    _require(case, ComplaintStatus.ACKNOWLEDGED, "resolve", now)
    if root_cause is None:
        raise InvalidTransition("resolving a complaint needs its root-cause category")
    try:
        category = ComplaintCategory(root_cause)
    except ValueError:
        raise InvalidTransition(f"unknown root-cause category {root_cause!r}") from None
    if remedy is None or not remedy.strip():
        raise InvalidTransition("resolving a complaint needs the remedy given to the customer")
    return case.model_copy(update={"status": ComplaintStatus.RESOLVED, "resolved_at": now, "resolved_by": by,
                                   "root_cause": category, "remedy": remedy.strip()})


def record_survey(case: ComplaintCase, *, satisfaction: int, now: datetime,
                  comment: str | None = None) -> ComplaintCase:
    """RESOLVED -> SURVEYED with the customer's satisfaction score, 1 (worst) to 5 (best)."""
    _require(case, ComplaintStatus.RESOLVED, "survey", now)
    if isinstance(satisfaction, bool) or not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
        raise InvalidTransition(f"satisfaction is a whole score from 1 to 5, got {satisfaction!r}")
    return case.model_copy(update={"status": ComplaintStatus.SURVEYED, "surveyed_at": now,
                                   "satisfaction": satisfaction, "survey_comment": comment})


def survey_task(case: ComplaintCase, policy: FollowUpPolicy, now: datetime) -> FollowUpTask:
    """The satisfaction-survey call, `survey_after_days` after resolution (never suppressed by consent)."""
    if case.resolved_at is None:
        raise InvalidTransition(f"complaint {case.complaint_id} is not resolved: nothing to survey yet")
    return schedule_task(customer_id=case.customer_id, kind=TaskKind.COMPLAINT_SURVEY, key=str(case.complaint_id),
                         owner_id=case.owner_id, due_at=case.resolved_at + timedelta(days=policy.survey_after_days),
                         now=now, cause_id=case.complaint_id)


class Breach(BaseModel):
    """A deadline that passed before its step was done."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    complaint_id: uuid.UUID
    deadline: Deadline
    due_at: AwareDatetime
    outstanding: bool  # the step is still not done
    escalated: bool


def breaches(case: ComplaintCase, now: datetime) -> list[Breach]:
    """Every breached deadline of the case at `now`: still undone past due, or done late."""
    require_aware(now)
    out: list[Breach] = []
    for deadline in Deadline:
        due, met = case.due(deadline), case.met_at(deadline)
        late = met > due if met is not None else now > due
        if late:
            out.append(Breach(complaint_id=case.complaint_id, deadline=deadline, due_at=due, outstanding=met is None,
                              escalated=case.escalated_at(deadline) is not None))
    return out


def escalations_due(case: ComplaintCase, now: datetime) -> list[Breach]:
    """The breaches the manager has not been told about and that still need action."""
    return [b for b in breaches(case, now) if b.outstanding and not b.escalated]


def mark_escalated(case: ComplaintCase, deadline: Deadline, now: datetime) -> ComplaintCase:
    """Record that the manager was told about the breach of `deadline` (idempotent)."""
    require_aware(now)
    if case.escalated_at(deadline) is not None:
        return case
    if not any(b.deadline == deadline for b in breaches(case, now)):
        raise InvalidTransition(f"the {deadline.value} deadline of complaint {case.complaint_id} is not breached")
    field = "acknowledge_escalated_at" if deadline == Deadline.ACKNOWLEDGE else "resolve_escalated_at"
    return case.model_copy(update={field: now})
