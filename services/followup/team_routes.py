"""The team: roster, reassignment of a customer, and one prospect's follow-up file (history included)."""
from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Depends, Path, Request

from shared.access import Action, Owner, check, in_reach, relation_of
from shared.auth import Principal, require, require_action
from shared.errors import DomainValidationError, NotFound
from shared.events.enums import Role
from shared.runtime import ownership as shared_ownership
from shared.runtime.audit import audit_full_read
from shared.runtime.commands import idempotency_key, run_command
from shared.runtime.ownership import authorize
from shared.masking import mask_personal
from shared.paging import PageRequest, cut, decode_cursor, page_request

from . import complaint_store, merging, ownership, prospects, roster, task_store
from .access import by, personal_visible
from .domain import FollowUpTask, OwnerBasis, redistribute
from .schemas import CareProfile, Consultant, Reassign
from .task_routes import task_json

router = APIRouter(prefix="/v1", tags=["team"])


@router.post("/consultants")
async def add_consultant(body: Consultant, request: Request, key: str | None = Depends(idempotency_key),
                         principal: Principal = Depends(require_action(Action.KEEP_ROSTER))):
    """Add or change a roster member (销售顾问); only members get work and own customers. A deactivated
    member gets no new work, and their customers and pending work are handed over to the least-loaded
    active members of their team. A team manager keeps their own team only (members they add join it)."""

    async def work(conn):
        now = request.app.state.clock.now()
        current = await roster.get(conn, body.consultant_id)
        team = await _team_in_reach(principal, body.consultant_id, body.team, current["team"] if current else None)
        member = await roster.upsert(conn, body.consultant_id, body.name, team, body.active, now)
        moved = ([], []) if body.active else await _hand_over(conn, body.consultant_id, member["team"], now, principal)
        return 200, {**member, "handed_over_customers": moved[0], "handed_over_tasks": moved[1]}

    return await run_command(request, principal, key, work)


@router.delete("/consultants/{consultant_id:path}")
async def remove_consultant(request: Request, key: str | None = Depends(idempotency_key),
                            consultant_id: str = Path(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$"),
                            principal: Principal = Depends(require_action(Action.KEEP_ROSTER))):
    """Take an entry off the roster (a wrong id, someone who never worked here): their customers and
    pending work are handed over first, as when a member is deactivated."""

    async def work(conn):
        now = request.app.state.clock.now()
        current = await roster.get(conn, consultant_id)
        if current is None:
            raise NotFound("no such consultant on the roster", field="consultant_id", location="path")
        await _team_in_reach(principal, consultant_id, current["team"], current["team"])
        customers, tasks = await _hand_over(conn, consultant_id, current["team"], now, principal)
        await roster.remove(conn, consultant_id, now)
        return 200, {"consultant_id": consultant_id, "removed": True, "handed_over_customers": customers,
                     "handed_over_tasks": tasks}

    return await run_command(request, principal, key, work)


async def _team_in_reach(principal: Principal, consultant_id: str, wanted: str | None,
                         current: str | None) -> str | None:
    """The team a roster change may set: a team manager keeps only their own team's members (and
    members they add join it); a manager without a team keeps every team."""
    if principal.team is None:
        return wanted if wanted is not None else current
    for team in (current, wanted):
        if team is not None:
            check(principal, Action.KEEP_ROSTER, relation_of(principal, Owner(consultant_id, team)),
                  field="team", location="body")
    return principal.team


async def _hand_over(conn, leaving: str, team: str | None, now, principal: Principal) -> tuple[list, list]:
    """A leaving consultant's customers go, one at a time, to the least-loaded active member of their
    team (of anyone, when the team has none left), with their pending work; pending work of other
    customers is spread the same way. Nothing moves when nobody is left to take it: it stays visible
    on the manager's lists."""
    customers = [r["customer_id"] for r in await conn.fetch(
        "select customer_id from prospects where owner_id = $1 and merged_into is null order by customer_id "
        "for update", leaving)]
    moved_customers = []
    for customer_id in customers:
        heir = await ownership.least_loaded_member(conn, team, exclude=leaving)
        if heir is None:
            break
        p = await prospects.load(conn, customer_id, create=False)
        await ownership.change_owner(conn, p, heir, OwnerBasis.HANDED_OVER, now, reason=f"{leaving} left",
                                     by=by(principal))
        moved_customers.append(customer_id)
    rows = await conn.fetch("select data::text as data from tasks where owner_id = $1 "
                            "and status in ('open', 'overdue') order by due_at for update", leaving)
    leftovers = [FollowUpTask.model_validate_json(r["data"]) for r in rows]
    heirs = [h for h in [await ownership.least_loaded_member(conn, team, exclude=leaving)] if h]
    moved = await task_store.record_changes(conn, redistribute(leftovers, leaving, heirs), now) if heirs else []
    return moved_customers, [t.task_id for t in moved]


@router.get("/consultants")
async def list_consultants(request: Request, page: PageRequest = Depends(page_request),
                           principal: Principal = Depends(require(Role.MANAGER, Role.OPS))) -> dict:
    """The roster with each member's pending and overdue work (a team manager: their team), by
    consultant id. Paged: pass `next_cursor` as `cursor` for the next page."""
    team = principal.team if principal.role is Role.MANAGER else None
    scope = {"list": "consultants", "team": team}
    after = decode_cursor(page.cursor, (str,), scope)
    async with request.app.state.pool.acquire() as conn:
        rows = await roster.members(conn, team, after=after[0] if after else None, limit=page.limit + 1)
    shown = cut(rows, page.limit, lambda m: (m["consultant_id"],), scope)
    return {"consultants": shown.rows, **shown.links()}


@router.post("/prospects/{customer_id}/reassign")
async def reassign(customer_id: uuid.UUID, body: Reassign, request: Request,
                   key: str | None = Depends(idempotency_key),
                   principal: Principal = Depends(require_action(Action.REASSIGN))):
    """Give the customer to another consultant, with the reason (domain §8): the new owner has
    everything from now on (open work and open complaints move, the history stays with the customer)
    and the old one no longer does, in every service. The consultant must be active on the roster
    (and in a team manager's team)."""

    async def work(conn):
        now = request.app.state.clock.now()
        cid = await merging.survivor_of(conn, customer_id)
        p = await prospects.load(conn, cid, create=False)
        if p is None:
            raise NotFound(f"prospect {customer_id} not found", field="customer_id", location="path")
        await authorize(conn, principal, Action.REASSIGN, cid)
        status = await shared_ownership.consultant_status(conn, body.consultant_id)
        if not status:
            raise DomainValidationError(f"consultant {body.consultant_id} is "
                                        f"{'inactive' if status is False else 'not on the roster'}",
                                        field="consultant_id")
        if not in_reach(principal, await shared_ownership.team_of(conn, body.consultant_id)):
            raise DomainValidationError(f"consultant {body.consultant_id} is not in team {principal.team}",
                                        field="consultant_id")
        previous = p.owner_id
        _, tasks, cases = await ownership.change_owner(conn, p, body.consultant_id, OwnerBasis.REASSIGNED, now,
                                                       reason=body.reason, by=by(principal))
        return 200, {"customer_id": cid, "owner_id": body.consultant_id, "previous_owner_id": previous,
                     "reason": body.reason, "moved_tasks": tasks, "moved_complaints": cases}

    return await run_command(request, principal, key, work)


@router.put("/prospects/{customer_id}/care")
async def set_care_profile(customer_id: uuid.UUID, body: CareProfile, request: Request,
                           principal: Principal = Depends(require_action(Action.SET_CARE))) -> dict:
    """The customer's birthday (车主生日), for birthday care."""
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        cid = await merging.survivor_of(conn, customer_id)
        if await prospects.load(conn, cid, create=False) is None:
            raise NotFound(f"prospect {customer_id} not found", field="customer_id", location="path")
        await authorize(conn, principal, Action.SET_CARE, cid)
        await prospects.update(conn, cid, birthday=body.birthday)
    return {"customer_id": cid, "birthday": body.birthday}


@router.get("/prospects/{customer_id}")
async def prospect_file(customer_id: uuid.UUID, request: Request,
                        principal: Principal = Depends(require_action(Action.SEE_WORK))) -> dict:
    """Everything follow-up knows about one customer: owner, grade, every task with its record, cases, deals.
    Personal data (the birthday, what was said) only for readers who may see it; such a read is audited."""
    now = request.app.state.clock.now()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        cid = await merging.survivor_of(conn, customer_id)
        p = await prospects.load(conn, cid, create=False)
        if p is None:
            raise NotFound(f"prospect {customer_id} not found", field="customer_id", location="path")
        await authorize(conn, principal, Action.SEE_WORK, cid)
        full = cid in await personal_visible(conn, principal, {cid})
        tasks = await task_store.of_customer(conn, cid, pending_only=False, lock=False)
        cases = await complaint_store.of_customer(conn, cid)
        deals = await conn.fetch("select data::text as data from deals where customer_id = $1 order by closed_on",
                                 cid)
        if full:
            await audit_full_read(conn, principal, cid, "prospect file", now, producer="followup")
    body = {**p.as_json(), "tasks": [task_json(t, now, full) for t in tasks],
            "complaints": [complaint_store.as_json(c, now, full=full) for c in cases],
            "deals": [json.loads(r["data"]) for r in deals]}
    return body if full else mask_personal(body)
