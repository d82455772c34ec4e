"""The event contract: one pydantic model per event type and version, grouped by
the service that produces it. Integrators get it as JSON Schema (`crm schema`)."""
from ..envelope import EventPayload
from .audit import PersonalDataRead
from .followup import (
                       ComplaintUpdated,
                       ConsultantUpdated,
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
from .intake import ComplaintFiled, ConsentChanged, ContactReceived, CustomerErased, CustomerMerged, CustomerUpdated
from .runtime import DeadLetter

ALL_PAYLOADS: tuple[type[EventPayload], ...] = (
    ContactReceived, ComplaintFiled, ConsentChanged, CustomerMerged, CustomerUpdated, CustomerErased,
    ProspectGraded, CustomerValued,
    TaskScheduled, FollowUpLogged, TaskClosed, TaskEscalated, DealClosed, ProspectLost, ComplaintUpdated,
    PaymentRecorded, ConsultantUpdated,
    PersonalDataRead,
    DeadLetter,
)

__all__ = [
    "ALL_PAYLOADS", "ComplaintFiled", "ComplaintUpdated", "ConsentChanged", "ConsultantUpdated", "ContactReceived",
    "CustomerErased", "CustomerMerged", "CustomerUpdated", "CustomerValued", "DeadLetter", "DealClosed", "DealItem", "FollowUpLogged",
    "PaymentRecorded", "PersonalDataRead", "ProspectGraded", "ProspectLost", "TaskClosed", "TaskEscalated", "TaskScheduled",
]
