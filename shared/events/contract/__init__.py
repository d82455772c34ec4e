"""The event contract: one pydantic model per event type and version, grouped by
the service that produces it. Integrators get it as JSON Schema (`crm schema`).

`ALL_PAYLOADS` holds the latest version of each event type (what producers send);
`PAST_PAYLOADS` the versions that came before, still published and still readable
(shared.events.registry upcasts them)."""
from ..envelope import EventPayload
from .audit import PersonalDataRead
from .followup import (
                       ComplaintUpdated,
                       ConsultantUpdated,
                       CustomerAssigned,
                       DealClosed,
                       DealItem,
                       FollowUpLogged,
                       FollowUpLoggedV1,
                       PaymentRecorded,
                       ProspectLost,
                       TaskClosed,
                       TaskEscalated,
                       TaskScheduled,
)
from .grading import CustomerValued, GradeStep, ProspectGraded, ProspectGradedV1
from .intake import (
    ComplaintFiled,
    ConsentChanged,
    ContactReceived,
    ContactReceivedV1,
    ContactReceivedV2,
    CustomerErased,
    CustomerMerged,
    CustomerUpdated,
)
from .runtime import DeadLetter

ALL_PAYLOADS: tuple[type[EventPayload], ...] = (
    ContactReceived, ComplaintFiled, ConsentChanged, CustomerMerged, CustomerUpdated, CustomerErased,
    ProspectGraded, CustomerValued,
    TaskScheduled, FollowUpLogged, TaskClosed, TaskEscalated, DealClosed, ProspectLost, ComplaintUpdated,
    PaymentRecorded, ConsultantUpdated, CustomerAssigned,
    PersonalDataRead,
    DeadLetter,
)
# Earlier versions of event types, oldest first: readers upcast them (registry.UPCASTERS).
PAST_PAYLOADS: tuple[type[EventPayload], ...] = (ContactReceivedV1, ContactReceivedV2, ProspectGradedV1,
                                                 FollowUpLoggedV1)

__all__ = [
    "ALL_PAYLOADS", "PAST_PAYLOADS", "ComplaintFiled", "ComplaintUpdated", "ConsentChanged", "ConsultantUpdated",
    "ContactReceived", "ContactReceivedV1", "ContactReceivedV2", "CustomerAssigned", "CustomerErased", "CustomerMerged", "CustomerUpdated", "CustomerValued",
    "DeadLetter", "DealClosed", "DealItem", "FollowUpLogged", "FollowUpLoggedV1", "GradeStep", "PaymentRecorded", "PersonalDataRead",
    "ProspectGraded", "ProspectGradedV1",
    "ProspectLost", "TaskClosed", "TaskEscalated", "TaskScheduled",
]
