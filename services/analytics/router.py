"""Analytics HTTP surface: the customer 360 and the replay of projections."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from fastapi import APIRouter, Depends, Query, Request

from shared.access import Action, sees_personal_data
from shared.auth import Principal, require, require_action
from shared.business_time import DEFAULT_ZONE, end_of_business_day
from shared.errors import DomainValidationError, NotFound
from shared.events.enums import Role
from shared.runtime import ownership
from shared.runtime.audit import audit_full_read

from .domain.customer360 import build_360, masked_view
from .projection import history
from .replay import rebuild

router = APIRouter(prefix="/v1", tags=["analytics"])


def parse_as_of(value: str | None) -> datetime | None:
    """A date (the end of that business day) or an ISO 8601 instant (business time when it has no zone)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return end_of_business_day(date.fromisoformat(value)).astimezone(DEFAULT_ZONE)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))  # an unencoded "+"
    except ValueError:
        raise DomainValidationError("as_of must be a date (2026-05-31) or an ISO 8601 time", field="as_of",
                                    location="query") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=DEFAULT_ZONE)


@router.get("/customers/{customer_id}/360")
async def customer_360(
    customer_id: uuid.UUID, request: Request,
    as_of: str | None = Query(default=None, max_length=40,
                              description="answer for this past moment: a date (the end of that business day) or ISO 8601"),
    principal: Principal = Depends(require_action(Action.READ)),
) -> dict:
    """Everything about one customer at one glance, with history. Personal data is shown only to
    readers the access policy lets see it, judged on the customer's owner now (also for a past
    `as_of`: an owner who lost the customer no longer sees it, the new one sees it all); such a
    read is audited."""
    as_of = parse_as_of(as_of)
    async with request.app.state.pool.acquire() as conn:
        events = await history(conn, str(customer_id))
        if not events:
            raise NotFound(f"customer {customer_id} not found", field="customer_id", location="path")
        view = build_360(str(customer_id), events, as_of)
        if not sees_personal_data(principal, await ownership.relation(conn, principal, customer_id)):
            view = masked_view(view)
        elif principal.is_person:
            await audit_full_read(conn, principal, customer_id, "customer 360", request.app.state.clock.now())
    return {"customer_id": customer_id, **view}


@router.post("/admin/replay")
async def replay(request: Request, principal: Principal = Depends(require(Role.OPS, Role.MANAGER))) -> dict:
    """Drop and rebuild every projection from the event log; the old ones serve until the swap."""
    return await rebuild(request.app.state.pool)
