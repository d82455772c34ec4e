"""Persisting a prospect's grade: replay its facts, store the history, publish what changed.

The grade and its history are a pure function of the prospect's facts
(`grade_from_facts`), so whatever order the facts arrived in, the stored
state is the same. A `prospect-graded` event is published whenever the stored
history changed: a new change, or a history rewritten by a fact that arrived
late (a contact delivered after the deal it led to), even when the current
grade stays; it carries the whole history and the next revision number, so
every reader ends with the same history as grading.
"""
from __future__ import annotations

import uuid

import asyncpg

from shared.events.envelope import Envelope, new_event
from shared.runtime import ownership
from shared.runtime import vault as vaults
from shared.runtime.store import append

from . import fact_store
from .domain import GradeChange, GradingPolicy, grade_from_facts, prospect_graded_payload

SERVICE = "grading"
_KEY = ("grade", "previous_grade", "status", "rule", "cause_event_id", "changed_at")


def prospect_stream(customer_id: uuid.UUID) -> str:
    return f"prospect-{customer_id}"


async def regrade(conn: asyncpg.Connection, customer_id: uuid.UUID, policy: GradingPolicy,
                  causation: Envelope | None = None, event_id: uuid.UUID | None = None) -> Envelope | None:
    """Recompute the prospect's grade from its facts; returns the emitted event, if any."""
    await fact_store.lock_customer(conn, customer_id)
    facts = await fact_store.intent_facts(conn, customer_id)
    stored = await conn.fetchrow("select grade, status, revision from prospects where customer_id = $1 for update",
                                 customer_id)
    result = grade_from_facts(facts, policy)
    if not result.history:  # no fact that grades (only complaints, or merged away)
        await forget(conn, customer_id)
        return None
    decision = result.decision
    consultant = (await ownership.owner_of(conn, customer_id)).owner_id  # the owner follow-up decided
    # The decision keeps the policy version of the change that made it (an older one when the
    # replay under the current policy agrees with what was decided before).
    version, rewritten = await _save_history(conn, customer_id, result.history,
                                             await fact_store.fact_kinds(conn, customer_id))
    revision = (stored["revision"] if stored else 0) + (1 if rewritten else 0)
    await conn.execute(
        """insert into prospects (customer_id, grade, rule, consultant_id, policy_version, updated_at, status,
                                  cause_event_id, overridden_by, override_reason, loss_reason, revision)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) on conflict (customer_id) do update
           set grade = excluded.grade, rule = excluded.rule, consultant_id = excluded.consultant_id,
               policy_version = excluded.policy_version, updated_at = excluded.updated_at,
               status = excluded.status, cause_event_id = excluded.cause_event_id,
               overridden_by = excluded.overridden_by, override_reason = excluded.override_reason,
               loss_reason = excluded.loss_reason, revision = excluded.revision""",
        customer_id, _value(decision.grade), _value(decision.rule), consultant, version,
        decision.decided_at, decision.status.value, decision.cause_fact_id, decision.overridden_by,
        decision.override_reason, _value(decision.loss_reason), revision,
    )
    if not rewritten:
        return None
    payload = prospect_graded_payload(result.history, consultant, revision)
    if payload is None:
        return None
    if payload.override_reason is not None and await vaults.erased_now(customer_id):
        payload = payload.model_copy(update={"override_reason": None})  # nothing personal is sealed for them again
    event = new_event(payload, customer_id=customer_id, producer=SERVICE, occurred_at=decision.decided_at,
                      causation=causation, event_id=event_id)
    await append(conn, prospect_stream(customer_id), [event])
    return event


async def forget(conn: asyncpg.Connection, customer_id: uuid.UUID) -> None:
    """A customer without facts (merged away) has no grade."""
    await conn.execute("delete from grade_history where customer_id = $1", customer_id)
    await conn.execute("delete from prospects where customer_id = $1", customer_id)


def _value(member) -> str | None:
    return None if member is None else member.value


def _row(change: GradeChange, kinds: dict[uuid.UUID, str]) -> dict:
    return {
        "grade": _value(change.grade), "previous_grade": _value(change.previous_grade),
        "status": change.status.value, "previous_status": change.previous_status.value,
        "rule": change.rule.value, "rules": [r.value for r in change.rules],
        "cause_event_id": change.cause_fact_id, "cause_kind": kinds.get(change.cause_fact_id),
        "changed_by": change.overridden_by, "reason": change.override_reason,
        "loss_reason": _value(change.loss_reason), "policy_version": change.policy_version,
        "changed_at": change.occurred_at,
    }


async def _save_history(conn: asyncpg.Connection, customer_id: uuid.UUID, history: tuple[GradeChange, ...],
                        kinds: dict[uuid.UUID, str]) -> tuple[str, bool]:
    """Keep the stored prefix that the replay agrees with (and its policy version); rewrite the rest.
    Returns the decision's policy version and whether the stored history changed."""
    stored = await conn.fetch("select * from grade_history where customer_id = $1 order by seq", customer_id)
    rows = [_row(c, kinds) for c in history]
    keep = 0
    while keep < min(len(stored), len(rows)) and all(stored[keep][k] == rows[keep][k] for k in _KEY):
        keep += 1
    rewritten = keep < len(rows) or keep < len(stored)
    await conn.execute("delete from grade_history where customer_id = $1 and seq > $2", customer_id, keep)
    for seq, row in enumerate(rows[keep:], start=keep + 1):
        await conn.execute(
            """insert into grade_history (customer_id, seq, grade, previous_grade, status, previous_status,
                   rule, rules, cause_event_id, cause_kind, changed_by, reason, loss_reason,
                   policy_version, changed_at)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)""",
            customer_id, seq, *row.values(),
        )
    return (stored[keep - 1]["policy_version"] if keep == len(rows) else rows[-1]["policy_version"]), rewritten
