"""`crm import-history` against the running services: customers, deals and payments of an earlier
system go in through the public APIs; bad rows land in rejected-rows files with their data; history
creates no work for the past; a re-run takes nothing in twice."""
import asyncio
import csv
import uuid
from datetime import date, timedelta

from typer.testing import CliRunner

from crm.cli import app
from shared.events.enums import Role


def write(path, header, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def phone(n: int) -> str:
    return f"139{(uuid.uuid4().int + n) % 10**8:08d}"


async def deal_events(api, customer_ids) -> int:
    conn = await api.db("followup")
    try:
        return await conn.fetchval("select count(*) from event_store where event_type = 'deal-closed' "
                                   "and customer_id = any($1::uuid[])", list(customer_ids))
    finally:
        await conn.close()


async def test_history_import_takes_rows_in_once_and_reports_the_rest_with_their_data(api, stack, tmp_path):
    old = date.today() - timedelta(days=700)
    customers, deals, payments = tmp_path / "customers.csv", tmp_path / "deals.csv", tmp_path / "payments.csv"
    write(customers, ["客户编号", "姓名", "手机"],
          [["K1", "Wang Fang", phone(1)], ["K2", "Li Lei", phone(2)], ["K3", "Zhao Min", "12"],
           ["K4", "Sun Li", phone(4)]])
    write(deals, ["客户编号", "成交编号", "成交日期", "车型", "单价", "毛利", "顾问"],
          [["K1", "D1", old.isoformat(), "Sedan X", "150000", "12000", "c-001"],
           ["K1", "D2", (old + timedelta(days=300)).isoformat(), "SUV Y", "250000", "20000", "c-001"],
           ["K2", "D3", old.isoformat(), "Sedan X", "150000", "999999", "c-001"],
           ["K9", "D4", old.isoformat(), "Sedan X", "150000", "12000", "c-001"]])
    write(payments, ["成交编号", "回款日期", "金额"],
          [["D1", (old + timedelta(days=1)).isoformat(), "150000"], ["D2", old.isoformat(), "10"]])
    args = ["import-history", "--customers", str(customers), "--deals", str(deals), "--payments", str(payments),
            "--intake-url", stack.services["intake"].url, "--followup-url", stack.services["followup"].url,
            "--token", api.token(Role.INTEGRATION)]

    result = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert result.exit_code == 0, result.output
    assert "customers=3" in result.output and "deals=2" in result.output and "payments=1" in result.output

    rejected = {p.name: list(csv.reader(open(p.with_name(p.name + ".rejected.csv"), encoding="utf-8")))
                for p in (customers, deals, payments)}
    assert [r[0] for r in rejected["customers.csv"][1:]] == ["4"]  # K3's phone, with its data
    assert rejected["customers.csv"][1][1:4] == ["K3", "Zhao Min", "12"]
    by_ref = {r[1]: r for r in rejected["deals.csv"][1:]}
    assert set(by_ref) == {"K2", "K9"} and by_ref["K9"][-2] == "customer_ref"
    assert "gross" in by_ref["K2"][-2] or "gross" in by_ref["K2"][-1]
    assert [(r[1], r[-2]) for r in rejected["payments.csv"][1:]] == [("D2", "paid_on")]

    lookup = await api.get("intake", f"/v1/customers?phone={phone_of(customers, 'K1')}")
    assert lookup.status_code == 200, lookup.text
    k1 = lookup.json()["customers"][0]["customer_id"]
    tasks = await api.get("followup", f"/v1/tasks?customer_id={k1}")
    assert tasks.status_code == 200 and tasks.json()["tasks"] == [], tasks.text  # no work for the past
    value = await api.eventually("grading", f"/v1/customers/{k1}/value", lambda v: v.get("purchases") == 2)
    assert value["credit_grade"]
    assert await deal_events(api, [k1]) == 2
    # K1 bought from the earlier system: its contact is dated by its first deal and told as history, so
    # it never had a first contact to cancel (domain §8)
    assert await contact_told_as_history(api, k1) is True
    assert "first_contact" not in await scheduled_kinds(api, k1)
    # K2's only deal row is refused, but its day still dates K2 (the earlier system knew K2 then): no work
    k2 = (await api.get("intake", f"/v1/customers?phone={phone_of(customers, 'K2')}")).json()["customers"][0]
    await api.eventually("followup", f"/v1/prospects/{k2['customer_id']}", lambda p: p.get("owner_id"))
    k2_tasks = await api.get("followup", f"/v1/tasks?customer_id={k2['customer_id']}")
    assert k2_tasks.status_code == 200, k2_tasks.text
    assert k2_tasks.json()["overdue"] == [] and all(t["status"] == "open" for t in k2_tasks.json()["tasks"])
    # a customer taken over without deals is dated by the import (the customers file carries no date):
    # a lead to follow up from now on, its first contact due ahead, never overdue work for the past
    k4 = (await api.get("intake", f"/v1/customers?phone={phone_of(customers, 'K4')}")).json()["customers"][0]
    k4_tasks = (await api.eventually("followup", f"/v1/tasks?customer_id={k4['customer_id']}",
                                     lambda t: t.get("tasks")))["tasks"]
    assert [(t["kind"], t["status"]) for t in k4_tasks] == [("first_contact", "open")]
    assert await contact_told_as_history(api, k4["customer_id"]) is False
    # the 360 tells a contact taken over from the earlier system from one that came in now
    for customer_id, historical in ((k1, True), (k4["customer_id"], False)):
        view = await api.eventually("analytics", f"/v1/customers/{customer_id}/360", lambda v: v.get("contacts"))
        assert [c["historical"] for c in view["contacts"]] == [historical]

    again = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert again.exit_code == 0, again.output
    assert await deal_events(api, [k1]) == 2  # a re-run takes nothing in twice


async def contact_told_as_history(api, customer_id) -> bool:
    conn = await api.db("intake")
    try:
        return await conn.fetchval("select (envelope->'payload'->>'historical')::bool from event_store "
                                   "where event_type = 'contact-received' and customer_id = $1", uuid.UUID(customer_id))
    finally:
        await conn.close()


async def scheduled_kinds(api, customer_id) -> list[str]:
    conn = await api.db("followup")
    try:
        return [r[0] for r in await conn.fetch("select envelope->'payload'->>'kind' from event_store "
                                               "where event_type = 'task-scheduled' and customer_id = $1",
                                               uuid.UUID(customer_id))]
    finally:
        await conn.close()


def phone_of(path, ref: str) -> str:
    for row in csv.reader(open(path, encoding="utf-8")):
        if row[0] == ref:
            return row[2]
    raise KeyError(ref)
