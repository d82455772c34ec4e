"""History taken over from an earlier system (domain §8): deals and payments in batches of up to
1,000, all or nothing, refusals naming row and field; old deals set value and create no work."""
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.support.problems import problem_fields

from .support import CONSULTANT, events, new_prospect, pending

SHANGHAI = ZoneInfo("Asia/Shanghai")


def deal(customer_id: str, closed_on, **over) -> dict:
    return {"customer_id": customer_id, "consultant_id": CONSULTANT, "closed_on": closed_on.isoformat(),
            "items": [{"product": "Sedan X", "quantity": 1, "unit_price": "150000.00"}],
            "gross_profit": "12000.00", **over}


async def test_a_batch_of_old_deals_sets_value_and_creates_no_work_for_the_past(api):
    old, recent = await new_prospect(api, timeframe="within_7_days"), await new_prospect(api)
    today = datetime.now(SHANGHAI).date()
    batch = {"deals": [deal(old, today - timedelta(days=900)), deal(old, today - timedelta(days=400)),
                       deal(recent, today)]}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    r = await api.post("followup", "/v1/deals/batch", batch, headers=key)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert (answer["recorded"], answer["historical"]) == (3, 2)
    assert [d["historical"] for d in answer["deals"]] == [True, True, False]
    assert [d["customer_id"] for d in answer["deals"]] == [old, old, recent]
    again = await api.post("followup", "/v1/deals/batch", batch, headers=key)
    assert again.status_code == 201 and again.json() == answer
    assert len(await events(api, old, "deal-closed")) == 2 and len(await events(api, recent, "deal-closed")) == 1

    # history: prospect work ends, no delivery steps and no 3-day call; today's deal gets both
    assert [t["kind"] for t in await pending(api, old)] == []
    assert {t["kind"] for t in await pending(api, recent)} >= {"deal_3day_call", "delivery"}
    assert answer["deals"][0]["deal_call_task_id"] is None and answer["deals"][2]["deal_call_task_id"]
    # ... and it counts: grading values the customer on both old purchases
    value = await api.eventually("grading", f"/v1/customers/{old}/value",
                                 lambda v: v.get("purchases") == 2)
    assert value["lifecycle_stage"]


async def test_a_cut_off_of_the_callers_choice_decides_what_is_history(api):
    customer_id = await new_prospect(api, timeframe="within_7_days")
    today = datetime.now(SHANGHAI).date()
    cut = (datetime.now(SHANGHAI) - timedelta(days=10)).isoformat()
    r = await api.post("followup", "/v1/deals/batch", {"deals": [deal(customer_id, today - timedelta(days=3))],
                                                       "historical_before": cut})
    assert r.status_code == 201, r.text
    assert r.json()["historical"] == 0 and r.json()["deals"][0]["deal_call_task_id"]


async def test_a_batch_with_broken_rows_names_each_and_records_nothing(api):
    customer_id = await new_prospect(api, timeframe="within_7_days")
    today = datetime.now(SHANGHAI).date()
    rows = [deal(customer_id, today - timedelta(days=30)),
            deal(customer_id, today - timedelta(days=20), gross_profit="999999.00"),
            deal(customer_id, today - timedelta(days=10), consultant_id="c-nobody-at-all")]
    r = await api.post("followup", "/v1/deals/batch", {"deals": rows})
    assert r.status_code == 422, r.text
    assert problem_fields(r) == ["deals[1].gross_profit", "deals[2].consultant_id"]
    future = await api.post("followup", "/v1/deals/batch",
                            {"deals": [*rows[:1], deal(customer_id, today + timedelta(days=5))]})
    assert problem_fields(future) == ["deals[1].closed_on"]
    assert await events(api, customer_id, "deal-closed") == []

    too_many = await api.post("followup", "/v1/deals/batch", {"deals": [rows[0]] * 1001})
    assert too_many.status_code == 422 and "deals" in too_many.text
    empty = await api.post("followup", "/v1/deals/batch", {"deals": []})
    assert empty.status_code == 422 and "deals" in empty.text


async def test_payments_in_a_batch_apply_in_order_and_a_broken_one_records_none(api):
    customer_id = await new_prospect(api, timeframe="within_7_days")
    today = datetime.now(SHANGHAI).date()
    closed = today - timedelta(days=200)
    r = await api.post("followup", "/v1/deals/batch", {"deals": [deal(customer_id, closed)]})
    assert r.status_code == 201, r.text
    deal_id = r.json()["deals"][0]["deal"]["deal_id"]

    def pay(amount: str, days_after: int) -> dict:
        return {"deal_id": deal_id, "amount": amount, "paid_on": (closed + timedelta(days=days_after)).isoformat()}

    refused = await api.post("followup", "/v1/payments/batch",
                             {"payments": [pay("100000.00", 1), pay("60000.00", 30), pay("10.00", -5)]})
    assert refused.status_code == 422, refused.text
    assert problem_fields(refused) == ["payments[1].amount", "payments[2].paid_on"]
    assert await events(api, customer_id, "payment-recorded") == []

    ok = await api.post("followup", "/v1/payments/batch", {"payments": [pay("100000.00", 1), pay("50000.00", 30)]})
    assert ok.status_code == 201, ok.text
    assert [p["balance_after"] for p in ok.json()["payments"]] == ["50000.00", "0.00"]
    assert len(await events(api, customer_id, "payment-recorded")) == 2
    unknown = await api.post("followup", "/v1/payments/batch",
                             {"payments": [{**pay("1.00", 2), "deal_id": str(uuid.uuid4())}]})
    assert unknown.status_code == 422 and problem_fields(unknown) == ["payments[0].deal_id"]
