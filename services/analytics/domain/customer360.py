"""Customer 360: everything about one customer, folded from their events.

The fold (domain.state) sorts by (occurred_at, event_id) first, so the answer
depends on the set of events and not on the order topics delivered them;
`as_of` answers the same question for a past moment. Personal data is masked
unless the reader may see it (客户信息的保密性).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.events.envelope import Envelope
from shared.masking import mask_personal

from .state import fold_customer


def masked_view(view: dict[str, Any]) -> dict[str, Any]:
    """A 360 for a reader who may not see this customer's personal data: every personal key at
    any depth masked by the one masking (profile, contacts' free text and channel details,
    complaints' descriptions and remedies, follow-up records' content, loss notes)."""
    return {**mask_personal(view), "profile_masked": True}


def build_360(customer_id: str, events: Iterable[Envelope], as_of: datetime | None = None,
              *, full_profile: bool = True) -> dict[str, Any]:
    """The customer at one glance. `value` is grading's valuation as published (tier, classes,
    lifecycle, lifetime profit: none of it is worked out here; empty until grading values the
    customer), beside the deals' own sums."""
    view = view_of(fold_customer(customer_id, events, as_of), as_of)
    return view if full_profile else masked_view(view)


def view_of(s: dict[str, Any], as_of: datetime | None = None) -> dict[str, Any]:
    """The 360 of a folded state (the fold's own, or the stored one: domain.facts keeps it)."""
    tasks = list(s["tasks"].values())
    value = {**s["value"], "deals": s["totals"]["deals"], "deals_revenue": s["totals"]["revenue"],
             "deals_gross_profit": s["totals"]["gross_profit"]}
    return {
        "as_of": as_of.isoformat() if as_of else None,
        "profile": s["profile"],
        "profile_masked": False,
        "customer_kind": s["customer_kind"],
        "origin": s["origin"], "first_contact_at": s["first_contact_at"],
        "consultant_id": s["consultant_id"], "contacts": s["contacts"],
        "grade": s["grade"], "grade_history": s["grade_history"],
        "value": value, "credit_grade": s["value"].get("credit_grade"),
        "loyalty": {k: s["value"][k] for k in ("loyalty_score", "loyalty_stage") if k in s["value"]},
        "lifecycle_stage": s["value"].get("lifecycle_stage"),
        "lifetime_profit": s["value"].get("lifetime_profit"),
        "open_tasks": [t for t in tasks if t["status"] == "open"],
        "past_tasks": [t for t in tasks if t["status"] != "open"],
        "deals": s["deals"], "lost": s["lost"], "losses": s["losses"],
        "complaints": list(s["complaints"].values()),
        "marketing_allowed": s["marketing_allowed"], "consent_history": s["consent_history"],
        "merged_from": s["merged_from"], "event_count": s["event_count"],
        "erased": s["erased"],
    }
