"""Keeping a prospect's cadence in line with its grade, status and consent.

The rule (order-independent): work starts with a contact. Until the prospect
has been contacted nothing is scheduled from a grade; while a first-contact
task is pending it is the prospect's next follow-up, and the cadence of the
grade starts when it is done (`plan_after_follow_up`). After that every grade
change moves the one pending cadence task (`reschedule_on_grade_change`);
grade O replaces it with the delivery steps.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from shared.events.enums import IntentGrade
from shared.events.envelope import Envelope

from . import roster, task_store
from .domain import CadencePlan, FollowUpPolicy, TaskKind, reschedule_on_grade_change
from .prospects import Prospect


async def apply_plan(conn: asyncpg.Connection, plan: CadencePlan, now: datetime,
                     causation: Envelope | None = None) -> None:
    await task_store.record_changes(conn, (*plan.cancel, *plan.move), now, causation)
    await task_store.schedule(conn, plan.create, now, causation)


async def reconcile(conn: asyncpg.Connection, prospect: Prospect, policy: FollowUpPolicy, now: datetime, *,
                    previous_grade: IntentGrade | None, cause_id: uuid.UUID | None = None,
                    causation: Envelope | None = None) -> None:
    """Bring the prospect's cadence or delivery work in line with its current grade."""
    grade = prospect.grade
    if grade is None or not prospect.contacted:
        return
    pending = await task_store.of_customer(conn, prospect.customer_id)
    first_pending = any(t.kind == TaskKind.FIRST_CONTACT for t in pending)
    delivering = any(t.kind == TaskKind.DELIVERY for t in pending)
    if first_pending and grade != IntentGrade.O and not delivering:
        return  # the first contact is the next follow-up; the cadence starts when it is done
    owner = prospect.owner_id or roster.UNASSIGNED
    plan = reschedule_on_grade_change(
        pending, grade, now, policy, customer_id=prospect.customer_id, owner_id=owner,
        last_contact_at=prospect.last_contact_at, previous_grade=previous_grade, status=prospect.cadence_status,
        marketing_allowed=prospect.marketing_allowed, cause_id=cause_id,
    )
    await apply_plan(conn, plan, now, causation)
