"""One example payload per event type and version, for integrators (the JSON Schemas' `examples`
and the AsyncAPI document's message examples). Obviously made up: the people are "Wang Fang" and
"Li Lei", the phones the well-known test numbers 13800138000 / 13900139000, the addresses at
example.com. A test validates every example against its model, so they cannot drift.

Personal fields (`"pii": true` in the schemas) are shown opened; on the wire they are sealed
(`sealed:v1:...`) and listed in the envelope's `sealed`.
"""
from __future__ import annotations

from typing import Any

CUSTOMER = "3f0c8a9e-5b8e-4c1e-9b7a-2d4f6a8c0e12"
OTHER_CUSTOMER = "8d2b6f1a-0c3e-4a5b-9e7d-1f2a3b4c5d6e"
CONTACT = "5a1e2c3d-4b5f-4e6a-8b7c-9d0e1f2a3b4c"
TASK = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
DEAL = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
COMPLAINT = "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"
EVENT = "9b2f4c1e-8d7a-4e3b-a1c5-6f0d2e4b8a19"
AT = "2026-03-02T10:15:00+08:00"
DUE = "2026-03-03T10:00:00+08:00"

PAYLOADS: dict[tuple[str, int], dict[str, Any]] = {
    ("contact-received", 1): {
        "contact_id": CONTACT, "channel": "walk_in", "is_new_customer": True, "customer_kind": "consumer",
        "name": "Wang Fang", "phone": "+8613800138000", "region": "Shanghai", "purpose": "look at SUVs",
        "party_size": 2, "receptionist": "R01", "initial_grade": "B", "consultant_id": "c-007",
        "purchase_timeframe": "1_to_3_months", "notes": "wants a 7-seater"},
    ("contact-received", 2): {
        "contact_id": CONTACT, "channel": "exhibition", "is_new_customer": True, "customer_kind": "consumer",
        "name": "Wang Fang", "phone": "+8613800138000", "email": "wang.fang@example.com",
        "initial_grade": "H", "consultant_id": "c-007", "product_interest": "SUV X5",
        "purchase_timeframe": "within_1_month", "budget": "250000.00", "campaign": "auto-show-2026",
        "notes": "test drive next week", "channel_details": {"company": "Example Trading Co."}},
    ("contact-received", 3): {
        "contact_id": CONTACT, "channel": "bulk_import", "is_new_customer": True, "customer_kind": "consumer",
        "name": "Wang Fang", "phone": "+8613800138000", "historical": True,
        "channel_details": {"import_batch": "history-3f9a", "source_row": 2}},
    ("complaint-filed", 1): {"complaint_id": COMPLAINT, "channel": "phone", "severity": "high",
                             "category": "product_quality", "description": "paint bubbles on the bonnet"},
    ("consent-changed", 1): {"marketing_allowed": False, "source": "web form"},
    ("customer-merged", 1): {"merged_customer_id": OTHER_CUSTOMER},
    ("customer-updated", 1): {"changed_fields": ["email"], "card": {"email": "wang.fang@example.com"}},
    ("customer-erased", 1): {"erased_at": AT, "requested_by": "ops:ops", "merged_customer_ids": [OTHER_CUSTOMER]},
    ("prospect-graded", 1): {"grade": "H", "previous_grade": "A", "rule": "timeframe", "cause_event_id": EVENT,
                             "policy_version": "2026-01", "consultant_id": "c-007"},
    ("prospect-graded", 2): {
        "grade": "H", "previous_grade": "A", "rule": "override", "cause_event_id": EVENT,
        "overridden_by": "c-007", "override_reason": "keen after the test drive", "policy_version": "2026-01",
        "consultant_id": "c-007", "revision": 2, "history": [
            {"grade": "A", "status": "active", "rule": "timeframe", "at": "2026-03-01T09:30:00+08:00"},
            {"grade": "H", "previous_grade": "A", "status": "active", "rule": "override", "at": AT,
             "cause_event_id": EVENT, "overridden_by": "c-007"}]},
    ("customer-valued", 1): {"policy_version": "2026-01", "pyramid_tier": "A", "loyalty_score": "72.5",
                             "lifecycle_stage": "growth", "purchases": 1, "gross_profit": "12600.00"},
    ("task-scheduled", 1): {"task_id": TASK, "kind": "first_contact", "owner_id": "c-007", "due_at": DUE,
                            "grade": "H", "marketing": True},
    ("followup-logged", 1): {"task_id": TASK, "kind": "first_contact", "consultant_id": "c-007", "method": "phone",
                             "outcome": "reached", "content": "test drive booked", "test_drive": True,
                             "next_contact_at": DUE, "completed_at": AT},
    ("followup-logged", 2): {"task_id": TASK, "kind": "first_contact", "consultant_id": "c-007", "method": "phone",
                             "outcome": "reached", "content": "test drive booked", "test_drive": True,
                             "next_contact_at": DUE, "completed_at": AT, "late": False},
    ("task-closed", 1): {"task_id": TASK, "status": "cancelled", "reason": "customer lost"},
    ("task-escalated", 1): {"task_id": TASK, "kind": "first_contact", "owner_id": "c-007", "due_at": DUE,
                            "late_hours": 3, "escalated_at": "2026-03-03T13:00:00+08:00"},
    ("deal-closed", 1): {"deal_id": DEAL, "consultant_id": "c-007", "amount": "158000.00",
                         "gross_profit": "12600.00", "deposit": "5000.00", "closed_on": "2026-03-02",
                         "items": [{"product": "Sedan L", "quantity": 1, "unit_price": "158000.00"}],
                         "contact_id": CONTACT, "channel": "walk_in", "payment_due_on": "2026-03-31"},
    ("prospect-lost", 1): {"reason": "price", "note": "bought elsewhere", "consultant_id": "c-007",
                           "approved_by": "m-01"},
    ("complaint-updated", 1): {"complaint_id": COMPLAINT, "status": "acknowledged", "owner_id": "c-007",
                               "acknowledge_due_at": AT, "resolve_due_at": DUE, "at": AT},
    ("payment-recorded", 1): {"deal_id": DEAL, "amount": "50000.00", "paid_on": "2026-03-05",
                              "due_on": "2026-03-31", "balance_after": "103000.00"},
    ("consultant-updated", 1): {"consultant_id": "c-007", "team": "north", "active": True},
    ("customer-assigned", 1): {"owner_id": "c-007", "previous_owner_id": "c-001", "basis": "reassigned",
                               "assignment_note": "c-001 moved to fleet sales", "assigned_by": "m-01"},
    ("personal-data-read", 1): {"subject": "m-01", "role": "manager", "what": "customer 360", "read_at": AT},
    ("dead-letters", 1): {"consumer": "intake", "topic": "callcenter-contacts", "partition": 0, "offset": 7,
                          "reason": "caller_phone: not a valid phone number", "original": "{\"call_id\": \"A-1\"}",
                          "failed_at": AT},
}

# Which service writes each event type (the envelope's `producer` in the examples).
PRODUCERS = {"intake": "intake", "grading": "grading", "followup": "followup", "audit": "analytics",
             "runtime": "grading"}


def envelope_example(event_type: str, version: int, producer: str) -> dict[str, Any]:
    """The whole message as it travels (personal fields shown opened)."""
    return {"event_id": EVENT, "event_type": event_type, "schema_version": version,
            "occurred_at": AT, "recorded_at": AT, "producer": producer, "customer_id": CUSTOMER,
            "correlation_id": "c0ffee00-1234-4abc-8def-0123456789ab", "causation_id": None,
            "payload": PAYLOADS[(event_type, version)]}


CALLCENTER_EXAMPLE: dict[str, Any] = {
    "schema_version": 1, "source_system": "cc-east", "call_id": "A-20260302-0001",
    "call_started_at": AT, "duration_seconds": 240, "call_type": "inbound", "caller_phone": "13800138000",
    "caller_name": "Wang Fang", "caller_email": "wang.fang@example.com", "agent_id": "agent-17",
    "purpose": "asks for a test drive", "intent_grade": "H", "purchase_timeframe": "within_1_month",
}
