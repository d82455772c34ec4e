"""Payments against deals (回款): balance, Idempotency-Key, refusals naming the field, and grading's credit."""
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.events.enums import Role
from tests.support.problems import problem_fields

from .support import CONSULTANT, events, new_prospect

SHANGHAI = ZoneInfo("Asia/Shanghai")


def deal(customer_id: str, **over) -> dict:
    return {"customer_id": customer_id, "items": [{"product": "Sedan X", "quantity": 1, "unit_price": "150000.00"}],
            "gross_profit": "12000.00", "deposit": "5000.00",
            "closed_on": datetime.now(SHANGHAI).date().isoformat(), **over}


async def test_payments_reduce_the_balance_once_per_key_and_refuse_overpayment(api):
    customer_id = await new_prospect(api, timeframe="within_7_days")
    today = datetime.now(SHANGHAI).date() - timedelta(days=1)  # yesterday: due by grading's date (UTC) too
    as_consultant = {"role": Role.CONSULTANT, "consultant_id": CONSULTANT}
    r = await api.post("followup", "/v1/deals", deal(customer_id, closed_on=today.isoformat(),
                                                     payment_due_on=today.isoformat()), **as_consultant)
    assert r.status_code == 201, r.text
    deal_id = r.json()["deal"]["deal_id"]
    assert r.json()["deal"]["payment_due_on"] == today.isoformat()
    path = f"/v1/deals/{deal_id}/payments"

    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"amount": "45000.00", "paid_on": today.isoformat(), "note": "bank transfer"}
    first = await api.post("followup", path, body, headers=key, **as_consultant)
    again = await api.post("followup", path, body, headers=key, **as_consultant)
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json() and again.headers.get("Idempotent-Replay") == "true"
    assert first.json()["balance_after"] == "100000.00" and first.json()["due_on"] == today.isoformat()

    over = await api.post("followup", path, {"amount": "100000.01", "paid_on": today.isoformat()})
    assert over.status_code == 422 and problem_fields(over)[0] == "amount", over.text
    future = await api.post("followup", path, {"amount": "10.00",
                                               "paid_on": (today + timedelta(days=2)).isoformat()})
    assert future.status_code == 422 and problem_fields(future)[0] == "paid_on"
    zero = await api.post("followup", path, {"amount": "0", "paid_on": today.isoformat()})
    assert zero.status_code == 422 and problem_fields(zero)[0] == "amount"
    bad_date = await api.post("followup", path, {"amount": "10.00", "paid_on": "yesterday"})
    assert bad_date.status_code == 422 and problem_fields(bad_date)[0] == "paid_on"
    early = await api.post("followup", path, {"amount": "10.00", "paid_on": (today - timedelta(days=1)).isoformat()})
    assert early.status_code == 422 and problem_fields(early)[0] == "paid_on"
    missing = await api.post("followup", f"/v1/deals/{uuid.uuid4()}/payments", body)
    assert missing.status_code == 404
    other = await api.post("followup", path, body, role=Role.CONSULTANT, consultant_id="c-other")
    assert other.status_code == 403

    rest = await api.post("followup", path, {"amount": "100000.00", "paid_on": today.isoformat()},
                          role=Role.INTEGRATION)
    assert rest.status_code == 201 and rest.json()["balance_after"] == "0.00", rest.text
    paid_up = await api.post("followup", path, {"amount": "0.01", "paid_on": today.isoformat()})
    assert paid_up.status_code == 422 and problem_fields(paid_up)[0] == "amount"

    recorded = await events(api, customer_id, "payment-recorded")
    assert [(e["amount"], e["balance_after"]) for e in recorded] == [("45000.00", "100000.00"), ("100000.00", "0.00")]
    assert all(e["deal_id"] == deal_id and e["due_on"] == today.isoformat() for e in recorded)
    # grading builds the invoice from the deal and the payments: paid on its due date
    value = await api.eventually("grading", f"/v1/customers/{customer_id}/value",
                                 lambda v: v.get("credit_grade") == "best")
    assert value["credit_grade"] == "best"


async def test_a_deal_without_a_due_date_is_a_cash_sale_and_a_bad_due_date_is_named(api):
    customer_id = await new_prospect(api, timeframe="within_7_days")
    today = datetime.now(SHANGHAI).date()
    r = await api.post("followup", "/v1/deals", deal(customer_id))
    assert r.status_code == 201, r.text
    assert r.json()["deal"]["payment_due_on"] == today.isoformat()
    assert (await events(api, customer_id, "deal-closed"))[0]["payment_due_on"] == today.isoformat()
    bad = await api.post("followup", "/v1/deals",
                         deal(customer_id, payment_due_on=(today - timedelta(days=1)).isoformat()))
    assert bad.status_code == 422 and problem_fields(bad)[0] == "payment_due_on", bad.text
