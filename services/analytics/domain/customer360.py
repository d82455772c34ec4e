"""Customer 360: everything about one customer, folded from their events.

The fold sorts by (occurred_at, event_id) first, so the answer depends on the
set of events and not on the order topics delivered them; `as_of` answers the
same question for a past moment.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.events.envelope import Envelope


def build_360(events: Iterable[Envelope], as_of: datetime | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {"contacts": [], "grade": None, "grade_history": [], "tasks": {}, "deals": [],
                            "complaints": [], "consultant_id": None, "marketing_allowed": True}
    ordered = sorted(events, key=lambda e: (e.occurred_at, str(e.event_id)))
    for event in ordered:
        if as_of is not None and event.occurred_at > as_of:
            break
        _apply(view, event)
    view["open_tasks"] = [t for t in view["tasks"].values() if t["status"] == "open"]
    view["past_tasks"] = [t for t in view["tasks"].values() if t["status"] != "open"]
    del view["tasks"]
    return view


def _apply(view: dict[str, Any], event: Envelope) -> None:
    p = event.payload
    match event.event_type:
        case "contact-received":
            view["contacts"].append({"contact_id": p["contact_id"], "channel": p["channel"],
                                     "campaign": p.get("campaign"), "occurred_at": event.occurred_at})
            view.setdefault("origin", {"channel": p["channel"], "campaign": p.get("campaign")})
            view["profile"] = {**view.get("profile", {}),
                               **{k: p[k] for k in ("name", "phone", "email", "region") if p.get(k)}}
            view["consultant_id"] = p.get("consultant_id") or view["consultant_id"]
        case "prospect-graded":
            view["grade"] = p["grade"]
            view["grade_history"].append({"grade": p["grade"], "previous_grade": p.get("previous_grade"),
                                          "rule": p["rule"], "at": event.occurred_at})
        case "task-scheduled":
            view["tasks"][p["task_id"]] = {"task_id": p["task_id"], "kind": p["kind"], "owner_id": p["owner_id"],
                                           "due_at": p["due_at"], "status": "open", "record": None}
        case "followup-logged":
            task = view["tasks"].setdefault(p["task_id"], {"task_id": p["task_id"], "kind": p["kind"]})
            task.update(status="done", record={k: v for k, v in p.items() if k != "task_id"})
        case "task-closed":
            if p["task_id"] in view["tasks"]:
                view["tasks"][p["task_id"]]["status"] = p["status"]
        case "deal-closed":
            view["deals"].append(p)
        case "complaint-filed":
            view["complaints"].append(p)
        case "consent-changed":
            view["marketing_allowed"] = p["marketing_allowed"]
