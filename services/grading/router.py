"""Grading HTTP surface: grades with history, overrides, customer value, the policy."""
from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from shared.access import Action
from shared.auth import Principal, require_action
from shared.errors import Conflict, NotFound
from shared.events.contract import CustomerValued
from shared.events.enums import IntentGrade
from shared.runtime import ownership
from shared.runtime.commands import idempotency_key, run_command

from . import fact_store, grades
from .domain import ConsultantOverrideFact, GradingPolicy, ProspectStatus

router = APIRouter(prefix="/v1", tags=["grading"])
_HISTORY_FIELDS = ("seq", "grade", "previous_grade", "status", "previous_status", "rule", "rules",
                   "cause_event_id", "cause_kind", "changed_by", "reason", "loss_reason", "policy_version",
                   "changed_at")


class GradeOverride(BaseModel):
    """A consultant's or manager's grade, with the reason (kept until new evidence arrives)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"grade": "H", "reason": "test drive done, asked for a quote"}]})

    grade: IntentGrade
    reason: str = Field(min_length=1, max_length=2000)


async def _merged_into(conn: asyncpg.Connection, customer_id: uuid.UUID) -> None:
    survivor = await fact_store.survivor_of(conn, customer_id)
    if survivor != customer_id:
        raise NotFound(f"customer {customer_id} was merged into {survivor}", field="customer_id", location="path")


async def grade_view(conn: asyncpg.Connection, customer_id: uuid.UUID) -> dict:
    row = await conn.fetchrow("select * from prospects where customer_id = $1", customer_id)
    if row is None:
        await _merged_into(conn, customer_id)
        raise NotFound(f"prospect {customer_id} not found", field="customer_id", location="path")
    history = await conn.fetch("select * from grade_history where customer_id = $1 order by seq", customer_id)
    return {
        "customer_id": customer_id, "grade": row["grade"], "status": row["status"], "rule": row["rule"],
        "consultant_id": (await ownership.owner_of(conn, customer_id)).owner_id, "policy_version": row["policy_version"],
        "decided_at": row["updated_at"], "cause_event_id": row["cause_event_id"],
        "overridden_by": row["overridden_by"], "override_reason": row["override_reason"],
        "loss_reason": row["loss_reason"],
        "history": [{k: h[k] for k in _HISTORY_FIELDS} for h in history],
    }


@router.get("/prospects/{customer_id}/grade")
async def get_grade(customer_id: uuid.UUID, request: Request,
                    principal: Principal = Depends(require_action(Action.READ))) -> dict:
    """The prospect's current intent grade and every change (up or down) with its cause."""
    async with request.app.state.pool.acquire() as conn:
        return await grade_view(conn, customer_id)


@router.post("/prospects/{customer_id}/grade-override")
async def override_grade(customer_id: uuid.UUID, body: GradeOverride, request: Request,
                         principal: Principal = Depends(require_action(Action.OVERRIDE_GRADE)),
                         key: str | None = Depends(idempotency_key)):
    """Set the grade by hand with a reason; it stands until new evidence changes the grade.

    A consultant overrides only their own customers' grades, a team manager their team's.
    """
    policy: GradingPolicy = request.app.state.grading.policy

    async def work(conn: asyncpg.Connection):
        await fact_store.lock_customer(conn, customer_id)
        row = await conn.fetchrow("select status from prospects where customer_id = $1 for update", customer_id)
        if row is None:
            await _merged_into(conn, customer_id)
            raise NotFound(f"prospect {customer_id} not found", field="customer_id", location="path")
        await ownership.authorize(conn, principal, Action.OVERRIDE_GRADE, customer_id)
        if row["status"] != ProspectStatus.ACTIVE.value:
            raise Conflict(f"prospect is {row['status']}: a new contact reopens it, not an override",
                           field="customer_id", location="path")
        # The override follows every fact the consultant could see, even one dated ahead of our clock.
        latest = await conn.fetchval("select max(occurred_at) from grading_facts where customer_id = $1", customer_id)
        now = request.app.state.clock.now()
        fact = ConsultantOverrideFact(
            fact_id=uuid.uuid4(), occurred_at=max(now, latest + timedelta(microseconds=1)) if latest else now,
            grade=body.grade,
            reason=body.reason, overridden_by=principal.consultant_id or principal.subject)
        await fact_store.record(conn, customer_id, fact)
        await grades.regrade(conn, customer_id, policy, event_id=fact.fact_id)
        return 200, await grade_view(conn, customer_id)

    return await run_command(request, principal, key, work)


@router.get("/customers/{customer_id}/value")
async def get_value(customer_id: uuid.UUID, request: Request,
                    principal: Principal = Depends(require_action(Action.READ))) -> dict:
    """The customer's value grading (customers with deals): tiers, classes, lifecycle, lifetime profit."""
    async with request.app.state.pool.acquire() as conn:
        row = await conn.fetchrow("select value::text as value, valued_on, updated_at from customer_values "
                                  "where customer_id = $1", customer_id)
        if row is None:
            await _merged_into(conn, customer_id)
            raise NotFound(f"customer {customer_id} has no value grading (no deal yet)",
                           field="customer_id", location="path")
    value = CustomerValued.model_validate_json(row["value"]).model_dump(mode="json")
    return {"customer_id": customer_id, **value, "valued_on": row["valued_on"], "changed_at": row["updated_at"]}


@router.get("/policy")
async def get_policy(request: Request, principal: Principal = Depends(require_action(Action.READ))) -> dict:
    """The grading policy in force (every threshold, with its version)."""
    return request.app.state.grading.policy.model_dump(mode="json")


@router.get("/policy/{version}")
async def get_policy_version(request: Request, version: str = Path(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$"),
                             principal: Principal = Depends(require_action(Action.READ))) -> dict:
    """A policy by version: any policy that ever made a grade decision here."""
    async with request.app.state.pool.acquire() as conn:
        stored = await conn.fetchval("select policy::text from grading_policies where version = $1", version)
    if stored is None:
        raise NotFound(f"policy version {version!r} not found", field="version", location="path")
    return GradingPolicy.model_validate_json(stored).model_dump(mode="json")
