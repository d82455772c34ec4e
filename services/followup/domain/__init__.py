"""Pure domain logic of the follow-up service (跟踪 / 客户关系维系): no I/O, no framework.

- policy: `FollowUpPolicy`, `DEFAULT_POLICY`, `WorkingHours` (every number, versioned)
- working_hours: working-time arithmetic on the calendar
- tasks: `TaskKind`, `TaskStatus`, `FollowUpTask`, `FollowUpRecord` and transitions
- consent: marketing suppression
- first_contact, cadence, care, aftercare: what work to schedule, and when
- assignment: who owns the work
- deals, losses, complaints: deals (成交), loss approval (战败), complaint cases (抱怨投诉处理)
- overdue: the idempotent periodic check
- events: payloads of the shared event contract
"""
from .aftercare import deal_call_task, service_call_task
from .assignment import (
    BY_LOAD,
    OwnerBasis,
    Ownership,
    least_loaded,
    owner_on_contact,
    owner_when_needed,
    reassign_customer,
    redistribute,
    workload,
)
from .cadence import (
    CadencePlan,
    ProspectStatus,
    cadence_task,
    delivery_tasks,
    next_cadence_due,
    plan_after_follow_up,
    reschedule_on_grade_change,
)
from .care import (
    CareCustomer,
    base_maintenance_tasks,
    care_tasks,
    care_window,
    decline_recovery_task,
    needs_base_maintenance,
)
from .clock import Clock, require_aware
from .complaints import (
    Breach,
    ComplaintCase,
    ComplaintStatus,
    Deadline,
    acknowledge,
    breaches,
    complaint_deadlines,
    escalations_due,
    file_complaint,
    mark_escalated,
    record_survey,
    resolve,
    survey_task,
)
from .consent import cancellations_on_refusal, is_suppressed, permitted
from .deals import DealDraft, DealFollowUp, deal_problems, deal_work, on_deal_closed, validate_deal
from .errors import CompletionTimeInvalid, DealInvalid, FollowUpDomainError, InvalidTransition, NoConsultantAvailable
from .events import complaint_updated, followup_logged, task_closed, task_scheduled
from .first_contact import first_contact_due, first_contact_task
from .losses import LossApproval, LossProposal, LossRejection, LossStatus, approve_loss, propose_loss, reject_loss
from .overdue import (
    Action,
    EscalateComplaint,
    EscalateTask,
    MarkTaskOverdue,
    apply_actions,
    overdue_work,
    periodic_check,
)
from .policy import DEFAULT_POLICY, ComplaintSla, DeliveryStepRule, FollowUpPolicy, WorkingHours
from .tasks import (
    MARKETING_KINDS,
    SERVICE_KINDS,
    DeliveryStep,
    FollowUpRecord,
    FollowUpTask,
    TaskChange,
    TaskKind,
    TaskStatus,
    missing_tasks,
    schedule_task,
    task_id_for,
)
from .working_hours import add_working_hours, add_working_time, is_working_time, working_time_between

__all__ = [
    "Action",
    "BY_LOAD",
    "Breach",
    "CadencePlan",
    "CareCustomer",
    "Clock",
    "CompletionTimeInvalid",
    "ComplaintCase",
    "ComplaintSla",
    "ComplaintStatus",
    "DEFAULT_POLICY",
    "Deadline",
    "DealDraft",
    "DealFollowUp",
    "DealInvalid",
    "DeliveryStep",
    "DeliveryStepRule",
    "EscalateComplaint",
    "EscalateTask",
    "FollowUpDomainError",
    "FollowUpPolicy",
    "FollowUpRecord",
    "FollowUpTask",
    "InvalidTransition",
    "LossApproval",
    "LossProposal",
    "LossRejection",
    "LossStatus",
    "MARKETING_KINDS",
    "MarkTaskOverdue",
    "NoConsultantAvailable",
    "OwnerBasis",
    "Ownership",
    "ProspectStatus",
    "SERVICE_KINDS",
    "TaskChange",
    "TaskKind",
    "TaskStatus",
    "WorkingHours",
    "acknowledge",
    "add_working_hours",
    "add_working_time",
    "apply_actions",
    "approve_loss",
    "base_maintenance_tasks",
    "breaches",
    "cadence_task",
    "cancellations_on_refusal",
    "care_tasks",
    "care_window",
    "complaint_deadlines",
    "complaint_updated",
    "deal_call_task",
    "deal_problems",
    "deal_work",
    "decline_recovery_task",
    "delivery_tasks",
    "escalations_due",
    "file_complaint",
    "first_contact_due",
    "first_contact_task",
    "followup_logged",
    "is_suppressed",
    "is_working_time",
    "least_loaded",
    "owner_on_contact",
    "owner_when_needed",
    "mark_escalated",
    "missing_tasks",
    "needs_base_maintenance",
    "next_cadence_due",
    "on_deal_closed",
    "overdue_work",
    "periodic_check",
    "permitted",
    "plan_after_follow_up",
    "propose_loss",
    "reassign_customer",
    "record_survey",
    "redistribute",
    "reject_loss",
    "require_aware",
    "reschedule_on_grade_change",
    "resolve",
    "schedule_task",
    "service_call_task",
    "survey_task",
    "task_closed",
    "task_id_for",
    "task_scheduled",
    "validate_deal",
    "working_time_between",
    "workload",
]
