"""The follow-up policy: every number of spec sections 2, 4 and 6 as configuration.

Numbers marked *seed* come from the source documents, the others are our
defaults. A policy is immutable, JSON-serialisable (`model_dump_json()` /
`model_validate_json()` round-trip unchanged) and carries a `version`, so a
due time can always be explained by the policy that computed it.
"""
from __future__ import annotations

from datetime import date, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.business_time import DEFAULT_ZONE
from shared.events.enums import Channel, ComplaintSeverity, IntentGrade

from .tasks import DeliveryStep

PositiveInt = Annotated[int, Field(ge=1)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorkingHours(_Frozen):
    """The working-hours calendar (工作时间) that working-hour deadlines are counted in.

    `workdays` uses Python's weekday numbers (Monday 0 .. Sunday 6).
    `holidays` are days off that would otherwise be workdays; `extra_workdays`
    are make-up working days (调休) that would otherwise be off.
    """

    # the business zone (shared.business_time); another zone moves only the working hours, not business days
    timezone: str = DEFAULT_ZONE.key
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    start: time = time(9, 0)
    end: time = time(18, 0)
    holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _sane(self) -> WorkingHours:
        if not self.workdays:
            raise ValueError("at least one weekday must be a workday")
        if any(d < 0 or d > 6 for d in self.workdays) or len(set(self.workdays)) != len(self.workdays):
            raise ValueError("workdays are distinct weekday numbers 0 (Monday) .. 6 (Sunday)")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("start and end are local wall-clock times without a zone")
        if self.start >= self.end:
            raise ValueError("the working day must start before it ends")
        if set(self.holidays) & set(self.extra_workdays):
            raise ValueError("a day cannot be both a holiday and an extra workday")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def day_length(self) -> timedelta:
        """Working time in one working day."""
        return _span(self.start, self.end)

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() in self.workdays


def _span(start: time, end: time) -> timedelta:
    return timedelta(hours=end.hour - start.hour, minutes=end.minute - start.minute,
                     seconds=end.second - start.second, microseconds=end.microsecond - start.microsecond)


class ComplaintSla(_Frozen):
    """Deadlines of one complaint severity (抱怨投诉处理时限)."""

    acknowledge_working_hours: PositiveInt = 4  # default: acknowledge within 4 working hours
    resolve_days: PositiveInt  # days from filing
    # False (default): calendar days. True: working days of the calendar (N x the working-day length).
    resolve_in_working_days: bool = False


class DeliveryStepRule(_Frozen):
    """One grade-O delivery step and how many days after the order it is due."""

    step: DeliveryStep
    due_after_days: Annotated[int, Field(ge=0)]


def _default_cadence() -> dict[IntentGrade, int]:
    return {
        IntentGrade.H: 2,  # default: every 2 days
        IntentGrade.A: 7,  # seed: once a week
        IntentGrade.B: 15,  # seed: twice a month
        IntentGrade.C: 30,  # default: once a month
    }


def _default_delivery_steps() -> tuple[DeliveryStepRule, ...]:
    # default: the seed's order (车款/领牌/保险/配件/交车), one step a day
    return tuple(DeliveryStepRule(step=s, due_after_days=i) for i, s in enumerate(DeliveryStep, start=1))


def _default_complaint_sla() -> dict[ComplaintSeverity, ComplaintSla]:
    return {
        ComplaintSeverity.HIGH: ComplaintSla(resolve_days=1),  # default
        ComplaintSeverity.MEDIUM: ComplaintSla(resolve_days=3),  # default
        ComplaintSeverity.LOW: ComplaintSla(resolve_days=7),  # default
    }


CUSTOMER_INITIATED_CHANNELS: tuple[Channel, ...] = (
    Channel.WALK_IN, Channel.PHONE, Channel.WEB_FORM, Channel.CALL_CENTER, Channel.SERVICE_STATION,
)


class FollowUpPolicy(_Frozen):
    """Every rule of the follow-up service that has a number in it, with the version that names it."""

    version: str = Field(default="2024.1", min_length=1, max_length=100)
    working_hours: WorkingHours = WorkingHours()

    # First contact after a contact is received (or the agreed next visit, 下次再访时间).
    first_contact_within_hours: PositiveInt = 24  # default
    # Contacts from these channels asked to be contacted: their first contact is
    # not marketing and refused consent does not suppress it.
    customer_initiated_channels: tuple[Channel, ...] = CUSTOMER_INITIATED_CHANNELS

    # Cadence by intent grade (有望客户级别), in days; O gets delivery steps instead.
    cadence_days: dict[IntentGrade, PositiveInt] = Field(default_factory=_default_cadence)
    delivery_steps: tuple[DeliveryStepRule, ...] = Field(default_factory=_default_delivery_steps)

    deal_call_within_days: PositiveInt = 3  # seed: 新车3日DC
    service_call_within_days: PositiveInt = 3  # seed: 售后3日DC

    care_lead_days: Annotated[int, Field(ge=0, le=366)] = 7  # default: care tasks appear this early
    base_maintenance_min_age_years: PositiveInt = 3  # default (the seed leaves it blank): 车辆使用N年以上
    decline_recovery_within_days: PositiveInt = 7  # default

    escalate_after_hours: PositiveInt = 24  # default: overdue work goes to the manager this late

    complaint_sla: dict[ComplaintSeverity, ComplaintSla] = Field(default_factory=_default_complaint_sla)
    survey_after_days: Annotated[int, Field(ge=0)] = 3  # default: satisfaction survey after resolution

    @model_validator(mode="after")
    def _complete(self) -> FollowUpPolicy:
        if set(self.cadence_days) != {IntentGrade.H, IntentGrade.A, IntentGrade.B, IntentGrade.C}:
            raise ValueError("cadence_days must give every grade H, A, B, C (O has delivery steps)")
        if set(self.complaint_sla) != set(ComplaintSeverity):
            raise ValueError("complaint_sla must give every severity")
        steps = [r.step for r in self.delivery_steps]
        if not steps or len(set(steps)) != len(steps):
            raise ValueError("delivery_steps must list distinct steps")
        if len(set(self.customer_initiated_channels)) != len(self.customer_initiated_channels):
            raise ValueError("customer_initiated_channels must be distinct")
        return self

    # -- derived durations -------------------------------------------------

    def cadence_interval(self, grade: IntentGrade) -> timedelta | None:
        """How often a prospect of `grade` must be contacted; None for O (delivery steps)."""
        days = self.cadence_days.get(grade)
        return None if days is None else timedelta(days=days)

    @property
    def first_contact_within(self) -> timedelta:
        return timedelta(hours=self.first_contact_within_hours)

    @property
    def escalate_after(self) -> timedelta:
        return timedelta(hours=self.escalate_after_hours)


DEFAULT_POLICY = FollowUpPolicy()
