"""Small pure helpers of the service layer (no database)."""
import uuid
from datetime import timedelta

from shared.events.enums import ComplaintSeverity

from services.followup.complaint_store import as_json
from services.followup.deals import DealRejected, _deal_field
from services.followup.domain import file_complaint

from .factories import NOW, POLICY


def test_each_deal_problem_names_its_field():
    problems = ("a deal needs at least one item", "deposit 9 exceeds the amount 5",
                "gross profit 9 exceeds the amount 5", "closed_on 2030-01-01 is in the future (today is 2024-06-03)",
                "amount must not be negative")
    assert [_deal_field(p) for p in problems] == ["items", "deposit", "gross_profit", "closed_on", "amount"]
    errors = DealRejected([(_deal_field(p), p) for p in problems[1:3]]).field_errors()
    assert [e["field"] for e in errors] == ["deposit", "gross_profit"]
    in_rows = DealRejected([("deals.3.deposit", problems[1])]).field_errors()
    assert [e["field"] for e in in_rows] == ["deals[3].deposit"]


def test_a_case_lists_its_breached_deadlines():
    case = file_complaint(complaint_id=uuid.uuid4(), customer_id=uuid.uuid4(), severity=ComplaintSeverity.HIGH,
                          owner_id="c-1", filed_at=NOW, policy=POLICY)
    assert as_json(case, NOW)["breached"] == []
    assert as_json(case, case.acknowledge_due + timedelta(minutes=1))["breached"] == ["acknowledge"]
    late = as_json(case, case.resolve_due + timedelta(minutes=1))
    assert late["breached"] == ["acknowledge", "resolve"] and late["open"]
