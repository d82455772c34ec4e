"""A folded customer state as the rows of the typed read model (pure).

The fold (domain.state) gives one customer's state; this module cuts it into the rows the
reports aggregate in SQL: one `customer_facts` row (typed columns: owner, origin, grade,
totals, grading's published value) and child rows for what reports count one by one
(contacts, tasks, deals, losses, grade steps, complaints, merges). Everything a report decides
per item that does not depend on the report's reference instant is decided here, once, with
the same rules the pure reports use (business days from shared.business_time, "late" as
the reference definition in tests/reference/activity.py judges it); what depends on the
reference instant (open work past due) is left to the query. The 360's lists keep the fold's own items (`data`), so a page of them is what the
fold said.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any


from shared import json_exact
from shared.business_time import business_date_of, business_day_of

from .filters import UNASSIGNED, days_between, hours_between

# The 360's long lists live in child tables (paged); the rest of the state is the customer's card.
LISTS = ("contacts", "tasks", "deals")


def _day(at: str | None) -> date | None:
    return business_date_of(at) if at else None


def _instant(at: str | None) -> datetime | None:
    return datetime.fromisoformat(at) if at else None


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _json(value: Any) -> str:
    """A stored item's JSON (read back with json.loads or as jsonb). orjson: a replay writes about seven
    per customer, and the standard library's took a fifth of the fold's time."""
    return json_exact.dumps(value)


def _close_days(s: dict) -> int | None:
    first, contact = s["totals"]["first_deal_on"], s["first_contact_at"]
    if not first or not contact:
        return None
    days = days_between(business_day_of(contact) + "T00:00:00+00:00", first + "T00:00:00+00:00")
    return int(max(0.0, days))


def customer_row(s: dict, own_events: int) -> tuple:
    """The `customer_facts` row (column order: tables.FACT_COLUMNS)."""
    origin, value, totals = s["origin"] or {}, s.get("value") or {}, s["totals"]
    first = s["first_grade"] or {}
    dated = [d for d in s["deals"] if d["closed_on"]]  # what a report without a period counts (Filters.in_period)
    return (
        s["customer_id"], own_events, s["event_count"], s["consultant_id"],
        origin.get("channel"), origin.get("campaign"), _instant(s["first_contact_at"]), _day(s["first_contact_at"]),
        s["grade"], s["lost"] is not None, first.get("grade"), _day(first.get("at")),
        totals["deals"], Decimal(totals["revenue"]), Decimal(totals["gross_profit"]),
        len(dated), sum((Decimal(d["amount"]) for d in dated), Decimal(0)),
        sum((Decimal(d["gross_profit"]) for d in dated), Decimal(0)),
        _day(totals["first_deal_on"]), _day(totals["last_deal_on"]), _close_days(s),
        totals["ever_qualified"], totals["ever_hot"], totals["ever_order"],
        bool(value), value.get("pyramid_tier") or None, value.get("management_class") or None,
        value.get("lifecycle_stage") or None, bool(value.get("in_decline")),
        _json(list(value.get("decline_signals") or [])), _decimal(value.get("gross_profit")),
        _decimal(value.get("referral_gains")) or Decimal(0), value.get("at"),
    )


def _task_late(t: dict) -> bool | None:
    """Not done by its due time (tests/reference/activity.task_overdue) where the answer does not depend on
    when the report is read; None for open work (late once its due time is behind the reference).
    Follow-up decides it for done work (`followup-logged` v2 `late`, and `overdue` when it marks one);
    only a record logged before version 2, which did not tell, is judged here from the same two times."""
    if t["status"] == "cancelled" or not t["due_at"]:
        return False
    if t["status"] == "overdue":
        return True
    if t["status"] == "done":
        told = (t["record"] or {}).get("late")
        if told is not None:
            return bool(told)
        return bool(t["done_at"]) and t["done_at"] > t["due_at"]
    return None


def _on_time(done_at: str | None, due_at: str | None) -> bool | None:
    """tests/reference/complaints.on_time where it is decided without the reference instant."""
    if not due_at or not done_at:
        return None
    return done_at <= due_at


def child_rows(s: dict) -> dict[str, list[tuple]]:
    """Child rows by table (column orders: tables.CHILD_COLUMNS)."""
    cid, owner = s["customer_id"], s["consultant_id"]
    contacts = [(cid, i, c["channel"], _day(c["at"]), c["consultant_id"] or owner or UNASSIGNED, _json(c))
                for i, c in enumerate(s["contacts"])]
    tasks = []
    for i, t in enumerate(s["tasks"].values()):
        done_by = (t["record"] or {}).get("consultant_id") or t["owner_id"] or UNASSIGNED
        tasks.append((cid, i, t["status"], t["owner_id"] or UNASSIGNED, _instant(t["due_at"]), _day(t["due_at"]),
                      _instant(t["scheduled_at"]), _day(t["done_at"]), done_by, _task_late(t), _json(t)))
    deals = [(cid, i, d["consultant_id"] or UNASSIGNED, Decimal(d["amount"]), Decimal(d["gross_profit"]),
              _day(d["closed_on"]), d["channel"], d["campaign"], _json(d)) for i, d in enumerate(s["deals"])]
    losses = [(cid, i, x["reason"], _day(x["at"]), x["consultant_id"]) for i, x in enumerate(s["losses"])]
    steps = [(cid, i, h["grade"], h["previous_grade"], _day(h["at"])) for i, h in enumerate(s["grade_history"])]
    complaints = []
    for i, c in enumerate(s["complaints"].values()):
        sat = c["satisfaction"]
        complaints.append((
            cid, i, c["category"], c["severity"], _day(c["filed_at"]), c["status"], c["owner_id"] or UNASSIGNED,
            bool(c["acknowledged_at"]), bool(c["resolved_at"]), bool(c["breached"]),
            _instant(c["acknowledge_due_at"]), _on_time(c["acknowledged_at"], c["acknowledge_due_at"]),
            _instant(c["resolve_due_at"]), _on_time(c["resolved_at"], c["resolve_due_at"]),
            hours_between(c["filed_at"], c["resolved_at"]), None if sat is None else float(sat)))
    merges = [(cid, m) for m in dict.fromkeys(s["merged_from"])]
    card = [(cid, _json({k: v for k, v in s.items() if k not in LISTS}))]
    return {"fact_cards": card, "fact_contacts": contacts, "fact_tasks": tasks, "fact_deals": deals, "fact_losses": losses,
            "fact_grade_steps": steps, "fact_complaints": complaints, "fact_merges": merges}

