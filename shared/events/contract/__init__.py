"""The event contract: one pydantic model per event type and version, grouped by
the service that produces it. Integrators get it as JSON Schema (`crm schema`)."""
from ..envelope import EventPayload
from .followup import (
                       ComplaintUpdated,
                       DealClosed,
                       DealItem,
                       FollowUpLogged,
                       PaymentRecorded,
                       ProspectLost,
                       TaskClosed,
                       TaskEscalated,
                       TaskScheduled,
)
from .grading import CustomerValued, ProspectGraded
from .intake import ComplaintFiled, ConsentChanged, ContactReceived, CustomerMerged, CustomerUpdated
from .runtime import DeadLetter

ALL_PAYLOADS: tuple[type[EventPayload], ...] = (
    ContactReceived, ComplaintFiled, ConsentChanged, CustomerMerged, CustomerUpdated,
    ProspectGraded, CustomerValued,
    TaskScheduled, FollowUpLogged, TaskClosed, TaskEscalated, DealClosed, ProspectLost, ComplaintUpdated,
    PaymentRecorded,
    DeadLetter,
)

__all__ = [
    "ALL_PAYLOADS", "ComplaintFiled", "ComplaintUpdated", "ConsentChanged", "ContactReceived", "CustomerMerged",
    "CustomerUpdated", "CustomerValued", "DeadLetter", "DealClosed", "DealItem", "FollowUpLogged", "PaymentRecorded",
    "ProspectGraded", "ProspectLost", "TaskClosed", "TaskEscalated", "TaskScheduled",
]
