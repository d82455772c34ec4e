"""Changing a customer: the card, marketing consent, merging two records."""
from __future__ import annotations

import contextlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from pydantic import ValidationError

from shared.errors import Conflict, DomainValidationError, NotFound
from shared.events.contract import CustomerMerged
from shared.events.envelope import new_event
from shared.runtime.store import append

from . import registry
from .contacts import SERVICE, Actor
from .domain.consent import ConsentDecision, ConsentIn, apply_consent, consent_decision, to_consent_changed
from .domain.customers import CustomerCard, merge_cards
from .domain.errors import first_error
from .domain.identity import IdentityKey, KeyKind, identity_keys, normalise_email, normalise_phone
from .schemas import ConsentOut, MergeOut

MAX_CLOCK_SKEW = timedelta(minutes=5)


async def live_or_404(conn: asyncpg.Connection, customer_id: uuid.UUID, *, field: str = "customer_id",
                      location: str = "path") -> uuid.UUID:
    """The customer this id now is (a merged id leads to the survivor). Unknown: 404 for the path's
    customer, 422 for one a body names (the request is what is wrong), naming `field` either way."""
    live = await registry.live_id(conn, customer_id)
    if live is None:
        error = NotFound if location == "path" else DomainValidationError
        raise error(f"customer {customer_id} not found", field=field, location=location)
    return live


async def _live_row(conn: asyncpg.Connection, customer_id: uuid.UUID) -> asyncpg.Record:
    """The row of the customer this id now is (a merged id leads to the survivor), locked;
    409 for an erased customer (nothing personal is recorded for them again)."""
    live = await registry.live_id(conn, customer_id)
    if live is None:
        raise NotFound(f"customer {customer_id} not found", field="customer_id", location="path")
    row = await registry.load(conn, live, for_update=True)
    registry.check_not_erased(row)
    return row


async def update_card(conn: asyncpg.Connection, customer_id: uuid.UUID, patch: dict[str, Any], now: datetime,
                      actor: Actor) -> list[dict]:
    """Change card fields (only those given); every change goes to the history.

    Locks in the same order as taking in a contact (identity keys, then the
    customer's row), so the two never deadlock.
    """
    await registry.lock_keys(conn, _keys_in(patch))
    row = await _live_row(conn, customer_id)
    current = registry.card_of(row)
    try:
        new = CustomerCard.model_validate({**current.model_dump(), **patch})
    except ValidationError as exc:
        field, message = first_error(exc)
        raise DomainValidationError(message, field=field or None) from None
    keys = identity_keys(new.phone, new.email)
    for key, owner in (await registry.owners(conn, keys)).items():
        if owner != row["customer_id"]:
            raise Conflict(f"this {key.kind.value} belongs to customer {owner}; merge the two records",
                           field=key.kind.value)
    await registry.claim_keys(conn, row["customer_id"], keys, now)
    changes = await registry.save_card(conn, row["customer_id"], current, new, now, actor.subject)
    return [c.to_json() for c in changes]


def _keys_in(patch: dict[str, Any]) -> list[str]:
    """The identity keys a patch brings (invalid values are reported by the card's validation)."""
    out = []
    for kind, normalise in ((KeyKind.PHONE, normalise_phone), (KeyKind.EMAIL, normalise_email)):
        value = patch.get(kind.value)
        if isinstance(value, str) and value.strip():
            with contextlib.suppress(DomainValidationError):
                out.append(str(IdentityKey(kind, normalise(value))))
    return out


async def change_consent(conn: asyncpg.Connection, customer_id: uuid.UUID, body: ConsentIn, now: datetime,
                         actor: Actor) -> ConsentOut:
    """Record a decision; the latest by business time wins (a refusal on a tie)."""
    if body.occurred_at is not None and body.occurred_at > now + MAX_CLOCK_SKEW:
        raise DomainValidationError("must not be in the future", field="occurred_at")
    row = await _live_row(conn, customer_id)
    decision = consent_decision(body, now)
    await conn.execute(
        """insert into consent_decisions (customer_id, marketing_allowed, occurred_at, source, recorded_at,
                                          recorded_by) values ($1, $2, $3, $4, $5, $6)""",
        row["customer_id"], decision.marketing_allowed, decision.occurred_at, decision.source or None, now,
        actor.subject)
    state, changed = await _apply_consent(conn, row, decision, now, actor)
    return ConsentOut(customer_id=row["customer_id"], marketing_allowed=state.marketing_allowed,
                      decided_at=state.occurred_at, source=state.source or None, changed=changed)


def _consent_state(row: asyncpg.Record) -> ConsentDecision | None:
    if row["consent_at"] is None:
        return None
    return ConsentDecision(row["marketing_allowed"], row["consent_at"], row["consent_source"] or "")


async def _apply_consent(conn: asyncpg.Connection, row: asyncpg.Record, decision: ConsentDecision,
                         now: datetime, actor: Actor) -> tuple[ConsentDecision, bool]:
    current = _consent_state(row)
    state = apply_consent(current, decision)
    if state is current:
        return state, False
    await conn.execute(
        "update customers set marketing_allowed = $2, consent_at = $3, consent_source = $4, updated_at = $5 "
        "where customer_id = $1",
        row["customer_id"], state.marketing_allowed, state.occurred_at, state.source or None, now)
    event = new_event(to_consent_changed(state), customer_id=row["customer_id"], producer=SERVICE,
                      occurred_at=state.occurred_at, correlation_id=actor.correlation_id, now=now)
    await append(conn, registry.customer_stream(row["customer_id"]), [event])
    return state, True


async def merge(conn: asyncpg.Connection, survivor_id: uuid.UUID, merged_id: uuid.UUID, now: datetime,
                actor: Actor) -> MergeOut:
    """Join ``merged_id`` into ``survivor_id``: keys, history, contacts and consent follow."""
    if survivor_id == merged_id:
        raise DomainValidationError("cannot merge a customer into itself", field="merged_customer_id")
    both = [survivor_id, merged_id]
    keys = await conn.fetch("select key from identity_keys where customer_id = any($1)", both)
    await registry.lock_keys(conn, [r["key"] for r in keys])
    rows = {r["customer_id"]: r for r in await conn.fetch(
        "select * from customers where customer_id = any($1) order by customer_id for update", both)}
    if survivor_id not in rows:
        raise NotFound(f"customer {survivor_id} not found", field="customer_id", location="path")
    if merged_id not in rows:
        raise DomainValidationError(f"customer {merged_id} not found", field="merged_customer_id")
    for cid, field in ((survivor_id, "customer_id"), (merged_id, "merged_customer_id")):
        if rows[cid]["merged_into"] is not None:
            raise Conflict(f"customer {cid} was already merged into {rows[cid]['merged_into']}", field=field)
        registry.check_not_erased(rows[cid], field=field, location="path" if field == "customer_id" else "body")
    survivor, merged = rows[survivor_id], rows[merged_id]
    card, conflicts = merge_cards(registry.card_of(survivor), registry.card_of(merged))
    await registry.save_card(conn, survivor_id, registry.card_of(survivor), card, now, actor.subject)
    await _carry_over(conn, survivor_id, merged_id, now)
    conflict_docs = [{"field": c.field, "kept": _plain(c.kept), "discarded": _plain(c.discarded)}
                     for c in conflicts]
    await conn.execute(
        "insert into merges (merged_customer_id, survivor_id, conflicts, merged_by, merged_at) "
        "values ($1, $2, $3::jsonb, $4, $5)", merged_id, survivor_id, json.dumps(conflict_docs), actor.subject, now)
    event = new_event(CustomerMerged(merged_customer_id=merged_id), customer_id=survivor_id, producer=SERVICE,
                      correlation_id=actor.correlation_id, now=now)
    await append(conn, registry.customer_stream(survivor_id), [event])
    merged_consent = _consent_state(merged)
    if merged_consent is not None:
        await _apply_consent(conn, await registry.load(conn, survivor_id), merged_consent, now, actor)
    return MergeOut(customer_id=survivor_id, merged_customer_id=merged_id, conflicts=conflict_docs)


async def _carry_over(conn: asyncpg.Connection, survivor_id: uuid.UUID, merged_id: uuid.UUID,
                      now: datetime) -> None:
    """Both histories stay: the merged record's is copied, tagged with where it came from."""
    await conn.execute(
        """insert into customer_history (customer_id, field, old, new, changed_at, source_customer_id, changed_by)
           select $1, field, old, new, changed_at, coalesce(source_customer_id, customer_id), changed_by
           from customer_history where customer_id = $2 order by id""", survivor_id, merged_id)
    await conn.execute("update identity_keys set customer_id = $1 where customer_id = $2", survivor_id, merged_id)
    await conn.execute(
        "update customers set merged_into = $1, updated_at = $3 where customer_id = $2 or merged_into = $2",
        survivor_id, merged_id, now)
    await conn.execute(
        "delete from merge_candidates where (customer_a, customer_b) in (($1, $2), ($2, $1))", survivor_id, merged_id)


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)
