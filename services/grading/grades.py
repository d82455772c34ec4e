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

import json
import uuid
from datetime import datetime

import asyncpg

from shared.events.envelope import Envelope, new_event
from shared.runtime import ownership
from shared.runtime import vault as vaults
from shared.runtime.store import append_many, meanwhile

from . import fact_store
from .domain import GradeChange, GradingPolicy, grade_from_facts, prospect_graded_payload

SERVICE = "grading"
_KEY = ("grade", "previous_grade", "status", "rule", "cause_event_id", "changed_at")


def prospect_stream(customer_id: uuid.UUID) -> str:
    return f"prospect-{customer_id}"


async def regrade(conn: asyncpg.Connection, customer_id: uuid.UUID, policy: GradingPolicy,
                  causation: Envelope | None = None, event_id: uuid.UUID | None = None) -> Envelope | None:
    """Recompute the prospect's grade from its facts; returns the emitted event, if any."""
    return (await regrade_many(conn, {customer_id: causation}, policy, event_id=event_id)).get(customer_id)


async def regrade_many(conn: asyncpg.Connection, customers: dict[uuid.UUID, Envelope | None], policy: GradingPolicy,
                       *, event_id: uuid.UUID | None = None) -> dict[uuid.UUID, Envelope]:
    """Recompute each customer's grade from its facts (each with the event that caused it), in a fixed
    number of statements whatever their number; returns the events emitted, by customer. Customers
    in ascending id: the lock order. `event_id`: the emitted event's id (for one customer only)."""
    if event_id is not None and len(customers) > 1:
        raise ValueError("one event id names one customer's event")
    ids = sorted(customers)
    await fact_store.lock_customers(conn, ids)
    facts, kinds = await fact_store.intent_facts_of(conn, ids)
    stored = {r["customer_id"]: r for r in await conn.fetch(
        "select customer_id, grade, status, revision from prospects where customer_id = any($1::uuid[]) "
        "order by customer_id for update", ids)}
    owners = await ownership.owners_of(conn, ids)
    histories: dict[uuid.UUID, list[asyncpg.Record]] = {}
    for r in await conn.fetch("select * from grade_history where customer_id = any($1::uuid[]) "
                              "order by customer_id, seq", ids):
        histories.setdefault(r["customer_id"], []).append(r)
    gone, kept, history_rows, prospect_rows, changed, events = [], [], [], [], [], {}
    for customer_id in ids:
        result = grade_from_facts(facts.get(customer_id, []), policy)
        if not result.history:  # no fact that grades (only complaints, or merged away)
            gone.append(customer_id)
            continue
        decision = result.decision
        consultant = owners[customer_id].owner_id  # the owner follow-up decided
        # The decision keeps the policy version of the change that made it (an older one when the
        # replay under the current policy agrees with what was decided before).
        keep, rows, version, rewritten = _history_change(histories.get(customer_id, []), result.history,
                                                         kinds.get(customer_id, {}))
        kept.append((customer_id, keep))
        history_rows += [(customer_id, seq, row) for seq, row in enumerate(rows[keep:], start=keep + 1)]
        revision = (stored[customer_id]["revision"] if customer_id in stored else 0) + (1 if rewritten else 0)
        prospect_rows.append((customer_id, _value(decision.grade), _value(decision.rule), consultant, version,
                              decision.decided_at, decision.status.value, decision.cause_fact_id,
                              decision.overridden_by, decision.override_reason, _value(decision.loss_reason),
                              revision))
        if rewritten:
            changed.append((customer_id, result.history, consultant, revision, decision.decided_at))
    await forget_many(conn, gone)
    await _save_histories(conn, kept, history_rows)

    def published(customer_id: uuid.UUID, history: tuple[GradeChange, ...], consultant: str | None, revision: int,
                  decided_at: datetime, erased: bool = False) -> Envelope | None:
        payload = prospect_graded_payload(history, consultant, revision)
        if payload is None:
            return None
        if erased:
            payload = payload.model_copy(update={"override_reason": None})  # nothing personal is sealed for them again
        return new_event(payload, customer_id=customer_id, producer=SERVICE, occurred_at=decided_at,
                         causation=customers[customer_id], event_id=event_id)

    # the events are built while the database stores the prospects
    _, built = await meanwhile(_save_prospects(conn, prospect_rows), lambda: [published(*c) for c in changed])
    for c, event in zip(changed, built, strict=True):
        if event is not None and event.payload.get("override_reason") is not None \
                and await vaults.erased_now(c[0]):
            event = published(*c, erased=True)
        if event is not None:
            events[c[0]] = event
    await append_many(conn, [(prospect_stream(c), e) for c, e in events.items()])
    return events


async def forget(conn: asyncpg.Connection, customer_id: uuid.UUID) -> None:
    """A customer without facts (merged away) has no grade."""
    await forget_many(conn, [customer_id])


async def forget_many(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> None:
    if customer_ids:
        await conn.execute("delete from grade_history where customer_id = any($1::uuid[])", customer_ids)
        await conn.execute("delete from prospects where customer_id = any($1::uuid[])", customer_ids)


async def _save_prospects(conn: asyncpg.Connection, rows: list[tuple]) -> None:
    if not rows:
        return
    await conn.execute(
        """insert into prospects (customer_id, grade, rule, consultant_id, policy_version, updated_at, status,
                                  cause_event_id, overridden_by, override_reason, loss_reason, revision)
           select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                                $7::text[], $8::uuid[], $9::text[], $10::text[], $11::text[], $12::int[])
           on conflict (customer_id) do update
           set grade = excluded.grade, rule = excluded.rule, consultant_id = excluded.consultant_id,
               policy_version = excluded.policy_version, updated_at = excluded.updated_at,
               status = excluded.status, cause_event_id = excluded.cause_event_id,
               overridden_by = excluded.overridden_by, override_reason = excluded.override_reason,
               loss_reason = excluded.loss_reason, revision = excluded.revision""",
        *(list(column) for column in zip(*rows, strict=True)))


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


def _history_change(stored: list[asyncpg.Record], history: tuple[GradeChange, ...],
                    kinds: dict[uuid.UUID, str]) -> tuple[int, list[dict], str, bool]:
    """Keep the stored prefix that the replay agrees with (and its policy version); rewrite the rest.
    Returns how many stored rows stay, the rows of the whole history, the decision's policy version
    and whether the stored history changes."""
    rows = [_row(c, kinds) for c in history]
    keep = 0
    while keep < min(len(stored), len(rows)) and all(stored[keep][k] == rows[keep][k] for k in _KEY):
        keep += 1
    rewritten = keep < len(rows) or keep < len(stored)
    version = stored[keep - 1]["policy_version"] if keep == len(rows) else rows[-1]["policy_version"]
    return keep, rows, version, rewritten


async def _save_histories(conn: asyncpg.Connection, kept: list[tuple[uuid.UUID, int]],
                          rows: list[tuple[uuid.UUID, int, dict]]) -> None:
    """Drop each customer's stored history after the rows it keeps, then store the new rows."""
    if kept:
        await conn.execute(
            """delete from grade_history g using unnest($1::uuid[], $2::int[]) as k(customer_id, keep)
               where g.customer_id = k.customer_id and g.seq > k.keep""",
            [c for c, _ in kept], [k for _, k in kept])
    if not rows:
        return
    columns = list(zip(*[(c, seq, *{**row, "rules": json.dumps(row["rules"])}.values()) for c, seq, row in rows],
                       strict=True))
    await conn.execute(
        """insert into grade_history (customer_id, seq, grade, previous_grade, status, previous_status,
               rule, rules, cause_event_id, cause_kind, changed_by, reason, loss_reason, policy_version, changed_at)
           select c, seq, grade, previous_grade, status, previous_status, rule,
                  array(select jsonb_array_elements_text(rules)), cause_event_id, cause_kind, changed_by, reason,
                  loss_reason, policy_version, changed_at
           from unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::jsonb[], $9::uuid[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
                       $15::timestamptz[])
                as h(c, seq, grade, previous_grade, status, previous_status, rule, rules, cause_event_id,
                     cause_kind, changed_by, reason, loss_reason, policy_version, changed_at)""",
        *(list(column) for column in columns))
