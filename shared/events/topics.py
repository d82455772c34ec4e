"""Kafka topic names: one topic per event type, named exactly as the type."""
from .contract import ALL_PAYLOADS

CONTACT_RECEIVED = "contact-received"
PROSPECT_GRADED = "prospect-graded"
DEAL_CLOSED = "deal-closed"
COMPLAINT_FILED = "complaint-filed"
DEAD_LETTERS = "dead-letters"
CALLCENTER_CONTACTS = "callcenter-contacts"  # raw inbound feed from call centers

EVENT_TOPICS: tuple[str, ...] = tuple(p.EVENT_TYPE for p in ALL_PAYLOADS)
ALL_TOPICS: tuple[str, ...] = (*EVENT_TOPICS, CALLCENTER_CONTACTS)
DEFAULT_PARTITIONS = 4
