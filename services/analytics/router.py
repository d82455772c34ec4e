"""Analytics HTTP surface: the customer 360 and the replay of projections."""
from __future__ import annotations

import asyncio
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

from .domain.customer360 import build_360, masked_view, view_of
from .paging import MAX_LIMIT, Page, page
from .projection import history, load_card, load_items
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


# The 360's long lists: stored table and which of its rows (the fold's order: domain.facts).
HISTORY_LISTS = {"contacts": ("fact_contacts", "true"), "open_tasks": ("fact_tasks", "status = 'open'"),
                 "past_tasks": ("fact_tasks", "status is distinct from 'open'"), "deals": ("fact_deals", "true")}
HISTORY_LIMIT = 200


async def stored_360(conn, customer_id: uuid.UUID, pages: dict[str, Page], info: dict) -> dict | None:
    """The 360 now, from the customer's stored row and a page of each list (their paging into `info`)."""
    card = await load_card(conn, customer_id)
    if card is None:
        return None
    view = view_of({**card, "contacts": [], "tasks": {}, "deals": []})
    for name, (table, where) in HISTORY_LISTS.items():
        p = pages[name]
        view[name], total = await load_items(conn, table, customer_id, p.offset, p.limit, where)
        info[name] = p.info(total)
    return view


@router.get("/customers/{customer_id}/360")
async def customer_360(
    customer_id: uuid.UUID, request: Request,
    as_of: str | None = Query(default=None, max_length=40,
                              description="answer for this past moment: a date (the end of that business day) or ISO 8601"),
    limit: int = Query(default=HISTORY_LIMIT, ge=1, le=MAX_LIMIT,
                       description="items per page of each history list (contacts, open_tasks, past_tasks, deals)"),
    contacts_cursor: str | None = Query(default=None, max_length=200, description="pages.contacts.next_cursor"),
    open_tasks_cursor: str | None = Query(default=None, max_length=200, description="pages.open_tasks.next_cursor"),
    past_tasks_cursor: str | None = Query(default=None, max_length=200, description="pages.past_tasks.next_cursor"),
    deals_cursor: str | None = Query(default=None, max_length=200, description="pages.deals.next_cursor"),
    principal: Principal = Depends(require_action(Action.READ)),
) -> dict:
    """Everything about one customer at one glance: their stored row, and a page of each history list
    (`pages` tells each list's `next_cursor` and `has_more`). Personal data is shown only to
    readers the access policy lets see it, judged on the customer's owner now (also for a past
    `as_of`: an owner who lost the customer no longer sees it, the new one sees it all); such a
    read is audited."""
    as_of = parse_as_of(as_of)
    cursors = {"contacts": contacts_cursor, "open_tasks": open_tasks_cursor, "past_tasks": past_tasks_cursor,
               "deals": deals_cursor}
    pages = {name: page(f"360:{name}", limit, cursor, field=f"{name}_cursor") for name, cursor in cursors.items()}
    info = {}
    async with request.app.state.pool.acquire() as conn:
        if as_of is None:  # now: the stored row and a page of each list
            view = await stored_360(conn, customer_id, pages, info)
            if view is None:
                raise NotFound(f"customer {customer_id} not found", field="customer_id", location="path")
        else:  # a past moment: folded from the log as it stood then (off the event loop)
            events = await history(conn, str(customer_id))
            if not events:
                raise NotFound(f"customer {customer_id} not found", field="customer_id", location="path")
            view = await asyncio.to_thread(build_360, str(customer_id), events, as_of)
            for name, p in pages.items():
                view[name], info[name] = p.slice(view[name]), p.info(len(view[name]))
        if not sees_personal_data(principal, await ownership.relation(conn, principal, customer_id)):
            view = masked_view(view)
        elif principal.is_person:
            await audit_full_read(conn, principal, customer_id, "customer 360", request.app.state.clock.now())
    return {"customer_id": customer_id, **view, "pages": info}


@router.post("/admin/replay")
async def replay(request: Request, principal: Principal = Depends(require(Role.OPS, Role.MANAGER))) -> dict:
    """Drop and rebuild every projection from the event log; the old ones serve until the swap."""
    settings = request.app.state.settings
    return await rebuild(request.app.state.pool, database_url=settings.database_url, vault_url=settings.vault_url)
