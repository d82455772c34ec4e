"""The team: roster, reassignment of a customer, and one prospect's follow-up file (history included)."""
from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Depends, Request

from shared.access import in_reach
from shared.auth import Principal, require
from shared.errors import DomainValidationError, NotFound
from shared.events.enums import Role
from shared.runtime.commands import idempotency_key, run_command

from . import complaint_store, merging, prospects, roster, task_store
from .access import check_customer, forbid_team, is_team_manager
from .domain import ComplaintStatus, FollowUpTask, reassign_customer, redistribute
from .schemas import CareProfile, Consultant, Reassign
from .task_routes import task_json

router = APIRouter(prefix="/v1", tags=["team"])


@router.post("/consultants")
async def add_consultant(body: Consultant, request: Request, key: str | None = Depends(idempotency_key),
                         principal: Principal = Depends(require(Role.MANAGER))):
    """Add or change a roster member; an inactive consultant gets no new work. A team manager keeps
    their own team only (members they add join it)."""

    async def work(conn):
        team = body.team
        if is_team_manager(principal):
            current = await roster.team_of(conn, body.consultant_id)
            if current is not None and current != principal.team or team not in (None, principal.team):
                raise forbid_team("keep the roster")
            team = principal.team
        member = await roster.upsert(conn, body.consultant_id, body.name, team, body.active,
                                     request.app.state.clock.now())
        moved = [] if body.active else await _hand_over(conn, body.consultant_id, request.app.state.clock.now())
        return 200, {**member, "handed_over_tasks": moved}

    return await run_command(request, principal, key, work)


async def _hand_over(conn, leaving: str, now) -> list[uuid.UUID]:
    """A deactivated consultant's pending work goes to the team, one customer at a time (least loaded first)."""
    team, _ = await roster.loads(conn)
    if not team:
        return []  # nobody to take it: it stays visible on the manager's list
    rows = await conn.fetch("select data::text as data from tasks where owner_id = $1 "
                            "and status in ('open', 'overdue') order by due_at for update", leaving)
    team_tasks = await conn.fetch("select data::text as data from tasks where owner_id = any($1) "
                                  "and status in ('open', 'overdue')", team)
    mine = [FollowUpTask.model_validate_json(r["data"]) for r in rows]
    others = [FollowUpTask.model_validate_json(r["data"]) for r in team_tasks]
    moved = await task_store.record_changes(conn, redistribute([*mine, *others], leaving, team), now)
    for task in moved:
        await conn.execute("update prospects set owner_id = $2 where customer_id = $1 and owner_id = $3",
                           task.customer_id, task.owner_id, leaving)
    return [t.task_id for t in moved]


@router.get("/consultants")
async def list_consultants(request: Request, principal: Principal = Depends(require(Role.MANAGER, Role.OPS))) -> dict:
    """The roster with each member's pending and overdue work (a team manager: their team)."""
    async with request.app.state.pool.acquire() as conn:
        members = await roster.members(conn)
    if is_team_manager(principal):
        members = [m for m in members if m["team"] == principal.team]
    return {"consultants": members}


@router.post("/prospects/{customer_id}/reassign")
async def reassign(customer_id: uuid.UUID, body: Reassign, request: Request,
                   key: str | None = Depends(idempotency_key), principal: Principal = Depends(require(Role.MANAGER))):
    """Give the customer to another consultant: open work and open complaints move; the history stays with
    the customer (its done tasks and records are visible to the new owner)."""

    async def work(conn):
        now = request.app.state.clock.now()
        cid = await merging.survivor_of(conn, customer_id)
        p = await prospects.load(conn, cid, create=False)
        if p is None:
            raise NotFound(f"prospect {customer_id} not found", field="customer_id", location="path")
        exists = await conn.fetchval("select active from consultants where consultant_id = $1", body.consultant_id)
        if exists is False:
            raise DomainValidationError(f"consultant {body.consultant_id} is inactive", field="consultant_id")
        await check_customer(conn, principal, cid)
        if is_team_manager(principal) and not in_reach(principal, await roster.team_of(conn, body.consultant_id)):
            raise DomainValidationError(f"consultant {body.consultant_id} is not in team {principal.team}",
                                        field="consultant_id")
        await roster.note_seen(conn, body.consultant_id)
        pending = await task_store.of_customer(conn, cid)
        moved = await task_store.record_changes(conn, reassign_customer(pending, cid, body.consultant_id), now)
        cases = []
        for case in await complaint_store.of_customer(conn, cid):
            if case.status in (ComplaintStatus.FILED, ComplaintStatus.ACKNOWLEDGED) and case.owner_id == p.owner_id:
                await complaint_store.record(conn, case.model_copy(update={"owner_id": body.consultant_id}), now)
                cases.append(case.complaint_id)
        await prospects.update(conn, cid, owner_id=body.consultant_id)
        return 200, {"customer_id": cid, "owner_id": body.consultant_id, "previous_owner_id": p.owner_id,
                     "moved_tasks": [t.task_id for t in moved], "moved_complaints": cases}

    return await run_command(request, principal, key, work)


@router.put("/prospects/{customer_id}/care")
async def set_care_profile(customer_id: uuid.UUID, body: CareProfile, request: Request,
                           principal: Principal = Depends(require(Role.CONSULTANT, Role.MANAGER))) -> dict:
    """The customer's birthday (车主生日), for birthday care."""
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        cid = await merging.survivor_of(conn, customer_id)
        if await prospects.load(conn, cid, create=False) is None:
            raise NotFound(f"prospect {customer_id} not found", field="customer_id", location="path")
        await check_customer(conn, principal, cid)
        await prospects.update(conn, cid, birthday=body.birthday)
    return {"customer_id": cid, "birthday": body.birthday}


@router.get("/prospects/{customer_id}")
async def prospect_file(customer_id: uuid.UUID, request: Request,
                        principal: Principal = Depends(require(Role.CONSULTANT, Role.MANAGER, Role.OPS))) -> dict:
    """Everything follow-up knows about one customer: owner, grade, every task with its record, cases, deals."""
    now = request.app.state.clock.now()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        cid = await merging.survivor_of(conn, customer_id)
        p = await prospects.load(conn, cid, create=False)
        if p is None:
            raise NotFound(f"prospect {customer_id} not found", field="customer_id", location="path")
        await check_customer(conn, principal, cid)
        tasks = await task_store.of_customer(conn, cid, pending_only=False, lock=False)
        cases = await complaint_store.of_customer(conn, cid)
        deals = await conn.fetch("select data::text as data from deals where customer_id = $1 order by closed_on",
                                 cid)
    return {**p.as_json(), "tasks": [task_json(t, now) for t in tasks],
            "complaints": [complaint_store.as_json(c, now) for c in cases],
            "deals": [json.loads(r["data"]) for r in deals]}
