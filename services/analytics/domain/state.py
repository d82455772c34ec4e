"""One customer's state, folded from their events (the projection row and the 360's core).

Pure: envelopes in, a JSON-ready dict out. Events are sorted by
(occurred_at, event_id) first, so any delivery order across topics gives the
same state; unknown event types are ignored (producers may add new ones).
Events come in opened (projection.load_events unseals them) and each is upcast
to its type's latest version here, so the fold reads one shape per type however
old the stored envelope is (a `contact-received` v1 reads as v2).

The fold reads each event as an `Event`: its instant typed once and written once as the UTC ISO
string the state holds, its payload already upcast. A replay reads those fields straight from
the log's columns and decodes nothing else of the envelope (projection.load_fold_events);
`fold_customer` takes envelopes (tests, the 360 as of a day) and reads them the same way.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, NamedTuple

from shared.events.envelope import Envelope
from shared.events.registry import latest_payload

IGNORED_TYPES = frozenset({"dead-letters", "campaign-cost-recorded"})
HOT_GRADES = ("O", "H")
QUALIFIED_GRADES = ("O", "H", "A", "B")


class Event(NamedTuple):
    """What the fold reads of one opened event."""

    occurred_at: datetime
    event_id: str
    event_type: str
    payload: dict[str, Any]  # at its type's latest version
    at: str  # occurred_at as the state writes it (_iso)


def fold_event(event_type: str, schema_version: int, occurred_at: datetime, event_id: Any,
               payload: dict[str, Any]) -> Event:
    """One opened event as the fold reads it: upcast to its type's latest version."""
    return Event(occurred_at, str(event_id), event_type, latest_payload(event_type, schema_version, payload),
                 _iso(occurred_at))


def event_of(e: Envelope) -> Event:
    return fold_event(e.event_type, e.schema_version, e.occurred_at, e.event_id, e.payload)


event_order = itemgetter(0, 1)  # (occurred_at, event_id)


def fold_customer(customer_id: str, events: Iterable[Envelope], as_of: datetime | None = None) -> dict[str, Any]:
    """The state of one customer from their events (and those of customers merged into them)."""
    return fold_events(customer_id, map(event_of, events), as_of)


def fold_events(customer_id: str, events: Iterable[Event], as_of: datetime | None = None) -> dict[str, Any]:
    """fold_customer over events already read for the fold."""
    s = _empty(customer_id)
    handlers = _HANDLERS
    for event in sorted(events, key=event_order):
        if as_of is not None and event.occurred_at > as_of:
            break
        if event.event_type in IGNORED_TYPES:
            continue
        s["event_count"] += 1
        s["last_event_at"] = event.at
        handler = handlers.get(event.event_type)
        if handler is not None:
            handler(s, event.payload, event.at, event)
    _finish(s)
    return s


def _empty(customer_id: str) -> dict[str, Any]:
    return {
        "customer_id": customer_id, "event_count": 0, "last_event_at": None,
        "profile": {}, "customer_kind": None, "origin": None, "first_contact_at": None,
        "consultant_id": None, "contacts": [], "grade": None, "first_grade": None, "grade_revision": 0,
        "grade_history": [], "tasks": {}, "deals": [], "losses": [], "lost": None,
        "complaints": {}, "marketing_allowed": True, "consent_history": [],
        "value": {}, "merged_from": [], "erased": None,
    }


def _iso(value: Any) -> str | None:
    """Instants as UTC ISO strings, so string order is time order and [:10] is the (UTC) day."""
    if value is None:
        return None
    if isinstance(value, str):
        if (written := _as_utc_iso(value)) is not None:
            return written  # what parsing and writing it again would give (most instants in events)
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is UTC:  # as asyncpg reads a timestamptz: no conversion to make
            return value.isoformat()
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    return str(value)


def _as_utc_iso(v: str) -> str | None:
    """`v` as `datetime.isoformat` writes a UTC instant, YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00 with a
    fraction that is not zero, when `v` is that already or the same with "Z" for "+00:00" (as
    pydantic writes an instant); None when it takes parsing. (Should a digit be wrong, parsing fails
    and _iso keeps the string as it is anyway.)"""
    n = len(v)
    if v.endswith("Z"):
        suffix, n = "Z", n + 5
    elif v.endswith("+00:00"):
        suffix = ""
    else:
        return None
    if n == 32:
        if v[19] != "." or v[20:26] == "000000":
            return None
    elif n != 25:
        return None
    if not (v[10] == "T" and v[4] == "-" and v[7] == "-" and v[13] == ":" and v[16] == ":"):
        return None
    if not suffix:
        return v
    try:  # "Z" becomes "+00:00" only on an instant that parses, as the rest stays (month 13 included)
        datetime.fromisoformat(v)
    except ValueError:
        return None
    return v[:-1] + "+00:00"


def _money(value: Any) -> str:
    return str(Decimal(str(value or 0)).quantize(Decimal("0.01")))


def _contact(s: dict, p: dict, at: str, e: Event) -> None:
    contact = {"contact_id": p.get("contact_id"), "channel": p.get("channel"), "campaign": p.get("campaign"),
               "at": at, "consultant_id": p.get("consultant_id"), "initial_grade": p.get("initial_grade"),
               "purpose": p.get("purpose"), "product_interest": p.get("product_interest"),
               "purchase_timeframe": p.get("purchase_timeframe"), "is_new_customer": p.get("is_new_customer", True),
               "referrer_customer_id": p.get("referrer_customer_id"),
               "notes": p.get("notes"), "channel_details": p.get("channel_details") or {},
               "historical": bool(p.get("historical"))}  # taken over from an earlier system (domain §8)
    s["contacts"].append(contact)
    if s["origin"] is None:
        s["origin"] = {"channel": p.get("channel"), "campaign": p.get("campaign"),
                       "contact_id": p.get("contact_id"), "at": at}
        s["first_contact_at"] = at
    s["profile"].update({k: p[k] for k in ("name", "phone", "email", "region") if p.get(k)})
    s["customer_kind"] = p.get("customer_kind") or s["customer_kind"]


def _graded(s: dict, p: dict, at: str, e: Event) -> None:
    """Grading's history of the prospect. From version 2 each event carries the whole history as
    grading knows it (rewritten when a fact arrived late): the latest revision replaces what came
    before. A version-1 event (revision 0) told one change: it is appended."""
    s["grade"] = p.get("grade")
    if p.get("revision"):
        if p["revision"] < s["grade_revision"]:
            return  # an older history, sorted after a newer one
        s["grade_revision"] = p["revision"]
        s["grade_history"] = [_step(step, p) for step in p.get("history") or []]
        s["grade"] = next((h["grade"] for h in reversed(s["grade_history"]) if h["grade"]), p.get("grade"))
        return
    previous = s["grade_history"][-1]["grade"] if s["grade_history"] else None
    s["grade_history"].append({"grade": p.get("grade"), "previous_grade": previous, "status": None,
                               "rule": p.get("rule"), "at": at, "overridden_by": p.get("overridden_by"),
                               "override_reason": p.get("override_reason"),
                               "cause_event_id": p.get("cause_event_id")})


def _step(step: dict, p: dict) -> dict:
    """One step of a published history; the override's reason is told for the latest change only."""
    latest = step.get("cause_event_id") is not None and step.get("cause_event_id") == p.get("cause_event_id")
    return {"grade": step.get("grade"), "previous_grade": step.get("previous_grade"), "status": step.get("status"),
            "rule": step.get("rule"), "at": _iso(step.get("at")), "overridden_by": step.get("overridden_by"),
            "override_reason": p.get("override_reason") if latest else None,
            "cause_event_id": step.get("cause_event_id")}


def _assigned(s: dict, p: dict, at: str, e: Event) -> None:
    """The owner follow-up decided (客户归属): the customer's consultant from then on."""
    s["consultant_id"] = p.get("owner_id")


def _task(s: dict, task_id: str) -> dict:
    return s["tasks"].setdefault(task_id, {"task_id": task_id, "kind": None, "owner_id": None, "due_at": None,
                                           "scheduled_at": None, "status": "open", "done_at": None,
                                           "closed_at": None, "record": None, "marketing": True})


def _scheduled(s: dict, p: dict, at: str, e: Event) -> None:
    t = _task(s, p["task_id"])
    t.update(kind=p.get("kind") or t["kind"], owner_id=p.get("owner_id"), due_at=_iso(p.get("due_at")),
             marketing=p.get("marketing", True))
    t["scheduled_at"] = t["scheduled_at"] or at


def _logged(s: dict, p: dict, at: str, e: Event) -> None:
    t = _task(s, p["task_id"])
    t.update(kind=t["kind"] or p.get("kind"), status="done", done_at=_iso(p.get("completed_at")) or at,
             record={k: v for k, v in p.items() if k != "task_id"})
    t["owner_id"] = t["owner_id"] or p.get("consultant_id")


def _closed(s: dict, p: dict, at: str, e: Event) -> None:
    t = _task(s, p["task_id"])
    if t["status"] != "done":
        t.update(status=p.get("status"), closed_at=at, close_reason=p.get("reason"))


def _deal(s: dict, p: dict, at: str, e: Event) -> None:
    origin = s["origin"] or {}
    s["deals"].append({"deal_id": p.get("deal_id"), "consultant_id": p.get("consultant_id"),
                       "amount": _money(p.get("amount")), "gross_profit": _money(p.get("gross_profit")),
                       "deposit": _money(p.get("deposit")), "closed_on": p.get("closed_on"), "at": at,
                       "channel": p.get("channel") or origin.get("channel"),
                       "campaign": p.get("campaign") or origin.get("campaign"),
                       "items": p.get("items", [])})


def _lost(s: dict, p: dict, at: str, e: Event) -> None:
    loss = {"reason": p.get("reason"), "note": p.get("note"), "at": at,
            "consultant_id": p.get("consultant_id") or s["consultant_id"], "approved_by": p.get("approved_by")}
    s["losses"].append(loss)
    s["lost"] = loss


def _complaint(s: dict, complaint_id: str) -> dict:
    return s["complaints"].setdefault(complaint_id, {
        "complaint_id": complaint_id, "channel": None, "severity": None, "category": None, "description": None,
        "filed_at": None, "status": "opened", "owner_id": None, "acknowledged_at": None, "resolved_at": None,
        "surveyed_at": None, "satisfaction": None, "remedy": None, "acknowledge_due_at": None,
        "resolve_due_at": None, "breached": [], "history": []})


def _filed(s: dict, p: dict, at: str, e: Event) -> None:
    c = _complaint(s, p["complaint_id"])
    c.update(channel=p.get("channel"), severity=p.get("severity"), description=p.get("description"),
             filed_at=at, category=c["category"] or p.get("category"))


_STEP_FIELD = {"acknowledged": "acknowledged_at", "resolved": "resolved_at", "surveyed": "surveyed_at"}
_STATUS_RANK = {"opened": 0, "escalated": 1, "acknowledged": 2, "resolved": 3, "surveyed": 4}


def _updated(s: dict, p: dict, at: str, e: Event) -> None:
    c = _complaint(s, p["complaint_id"])
    status, when = p.get("status"), _iso(p.get("at")) or at
    if not c["history"] or c["history"][-1]["status"] != status or status == "escalated":
        # the steps of the case; a case that only moved to another owner (a reassignment, the customer's
        # owner decided after the case was opened) took no step: its owner is the case's `owner_id`
        c["history"].append({"status": status, "at": when, "remedy": p.get("remedy"),
                             "satisfaction": p.get("satisfaction"), "breached": p.get("breached")})
    if status in _STEP_FIELD and c[_STEP_FIELD[status]] is None:
        c[_STEP_FIELD[status]] = when
    if _STATUS_RANK.get(status, 0) >= _STATUS_RANK.get(c["status"], 0) and status != "escalated":
        c["status"] = status
    if status == "escalated" and p.get("breached") and p["breached"] not in c["breached"]:
        c["breached"].append(p["breached"])
    for key in ("owner_id", "category", "remedy", "satisfaction", "acknowledge_due_at", "resolve_due_at"):
        if p.get(key) is not None:
            c[key] = _iso(p[key]) if key.endswith("_at") else p[key]


def _consent(s: dict, p: dict, at: str, e: Event) -> None:
    s["marketing_allowed"] = bool(p.get("marketing_allowed"))
    s["consent_history"].append({"marketing_allowed": s["marketing_allowed"], "at": at, "source": p.get("source")})


def _valued(s: dict, p: dict, at: str, e: Event) -> None:
    s["value"] = {**{k: v for k, v in p.items() if v is not None}, "at": at}


def _merged(s: dict, p: dict, at: str, e: Event) -> None:
    merged = p.get("merged_customer_id")
    if merged and merged != s["customer_id"] and merged not in s["merged_from"]:
        s["merged_from"].append(merged)


def _erased(s: dict, p: dict, at: str, e: Event) -> None:
    """Erased (the right to be forgotten): the business facts stay, nothing about the person."""
    s["erased"] = {"at": _iso(p.get("erased_at")) or at, "requested_by": p.get("requested_by")}


_HANDLERS = {
    "contact-received": _contact, "prospect-graded": _graded, "task-scheduled": _scheduled,
    "followup-logged": _logged, "task-closed": _closed, "deal-closed": _deal, "prospect-lost": _lost,
    "complaint-filed": _filed, "complaint-updated": _updated, "consent-changed": _consent,
    "customer-valued": _valued, "customer-merged": _merged, "customer-erased": _erased,
    "customer-assigned": _assigned,
}


def _finish(s: dict[str, Any]) -> None:
    """Totals every report needs, derived once from the folded state."""
    if s["erased"]:  # their events read as erased already; the profile goes whatever they said
        s["profile"] = {}
        for contact in s["contacts"]:
            contact.update(notes=None, channel_details={})
    for step in s["grade_history"]:  # a prospect's grades are their owner's (the owner now: one answer)
        step["consultant_id"] = s["consultant_id"]
    first = next((h for h in s["grade_history"] if h["grade"]), None)
    s["first_grade"] = {k: first[k] for k in ("grade", "at", "consultant_id")} if first else None
    revenue = sum((Decimal(d["amount"]) for d in s["deals"]), Decimal(0))
    profit = sum((Decimal(d["gross_profit"]) for d in s["deals"]), Decimal(0))
    grades = {h["grade"] for h in s["grade_history"]}
    s["totals"] = {
        "revenue": _money(revenue), "gross_profit": _money(profit), "deals": len(s["deals"]),
        "first_deal_on": min((d["closed_on"] for d in s["deals"] if d["closed_on"]), default=None),
        "last_deal_on": max((d["closed_on"] for d in s["deals"] if d["closed_on"]), default=None),
        "ever_qualified": bool(grades & set(QUALIFIED_GRADES)) or bool(s["deals"]),
        "ever_hot": bool(grades & set(HOT_GRADES)) or bool(s["deals"]),
        "ever_order": "O" in grades or bool(s["deals"]),
        "complaints": len(s["complaints"]),
    }
    s["tasks"] = dict(sorted(s["tasks"].items()))
    s["complaints"] = dict(sorted(s["complaints"].items()))


def fold_all(events: Iterable[Envelope]) -> list[dict[str, Any]]:
    """Every customer's state from a whole event history (what the projection table holds), by customer id.

    A survivor's state includes the events of the customers merged into it (transitively).
    """
    by_customer: dict[str, list[Envelope]] = {}
    merged_into: dict[str, set[str]] = {}
    for e in events:
        if e.event_type == "campaign-cost-recorded":
            continue
        by_customer.setdefault(str(e.customer_id), []).append(e)
        if e.event_type == "customer-merged" and e.payload.get("merged_customer_id"):
            merged_into.setdefault(str(e.customer_id), set()).add(str(e.payload["merged_customer_id"]))

    def group(cid: str) -> set[str]:
        seen, frontier = {cid}, {cid}
        while frontier:
            frontier = {m for c in frontier for m in merged_into.get(c, ())} - seen
            seen |= frontier
        return seen

    return [fold_customer(cid, [e for m in sorted(group(cid)) for e in by_customer.get(m, [])])
            for cid in sorted(by_customer)]
