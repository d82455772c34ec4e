"""Kafka topic names: one topic per event type, named exactly as the type."""
from .contract import ALL_PAYLOADS

CONTACT_RECEIVED = "contact-received"
PROSPECT_GRADED = "prospect-graded"
DEAL_CLOSED = "deal-closed"
COMPLAINT_FILED = "complaint-filed"
DEAD_LETTERS = "dead-letters"
CALLCENTER_CONTACTS = "callcenter-contacts"  # raw inbound feed from call centers
CONSULTANT_UPDATED = "consultant-updated"
CUSTOMER_ASSIGNED = "customer-assigned"
PERSONAL_DATA_READ = "personal-data-read"

EVENT_TOPICS: tuple[str, ...] = tuple(p.EVENT_TYPE for p in ALL_PAYLOADS)
ALL_TOPICS: tuple[str, ...] = (*EVENT_TOPICS, CALLCENTER_CONTACTS)
# Events about a customer (what analytics folds); the rest are about the runtime, the roster or audit.
CUSTOMER_TOPICS: tuple[str, ...] = tuple(
    t for t in EVENT_TOPICS if t not in (DEAD_LETTERS, CONSULTANT_UPDATED, PERSONAL_DATA_READ))
DEFAULT_PARTITIONS = 4
