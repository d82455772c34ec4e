"""Customer merges: the merged customer's work, cases, deals and losses move to the survivor.

The merged prospect row stays as a pointer (`merged_into`), so an event about
the merged id that arrives later is applied to the survivor.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import asyncpg

from shared.events.contract import CustomerMerged
from shared.runtime.consumer import Handler, Inbound

from . import complaint_store, prospects, task_store
from .cadence_work import reconcile
from .domain import FollowUpPolicy, task_scheduled


async def survivor_of(conn: asyncpg.Connection, customer_id: uuid.UUID) -> uuid.UUID:
    seen = {customer_id}
    while (nxt := await conn.fetchval("select merged_into from prospects where customer_id = $1",
                                      customer_id)) is not None and nxt not in seen:
        seen.add(nxt)
        customer_id = nxt
    return customer_id


async def merge(conn: asyncpg.Connection, merged: uuid.UUID, survivor: uuid.UUID, policy: FollowUpPolicy,
                now: datetime, causation=None) -> None:
    a = await prospects.load(conn, survivor)
    b = await prospects.load(conn, merged)
    for task in await task_store.of_customer(conn, merged, pending_only=False):
        moved = task.model_copy(update={"customer_id": survivor})
        await task_store.save(conn, moved)
        if moved.is_pending:
            await task_store.emit(conn, f"task-{moved.task_id}", task_scheduled(moved), customer_id=survivor,
                                  now=now, causation=causation)
    for case in await complaint_store.of_customer(conn, merged):
        await complaint_store.save(conn, case.model_copy(update={"customer_id": survivor}))
    for table in ("deals", "loss_proposals"):
        await conn.execute(f"update {table} set customer_id = $2, data = jsonb_set(data, '{{customer_id}}', "
                           f"to_jsonb($3::text)) where customer_id = $1", merged, survivor, str(survivor))
    newer_consent = b.consent_at is not None and (a.consent_at is None or b.consent_at > a.consent_at)
    contacts = [t for t in (a.last_contact_at, b.last_contact_at) if t is not None]
    await prospects.update(
        conn, survivor, owner_id=a.owner_id or b.owner_id, grade=(a.grade or b.grade).value if (a.grade or b.grade)
        else None, contacted=a.contacted or b.contacted, last_contact_at=max(contacts) if contacts else None,
        marketing_allowed=b.marketing_allowed if newer_consent else a.marketing_allowed,
        consent_at=b.consent_at if newer_consent else a.consent_at, birthday=a.birthday or b.birthday)
    await prospects.update(conn, merged, merged_into=survivor, status="merged", status_at=now)
    p = await prospects.load(conn, survivor)
    await reconcile(conn, p, policy, now, previous_grade=p.grade, causation=causation)  # one cadence, not two


def on_merged_handler(policy: FollowUpPolicy, now: Callable[[], datetime]) -> Handler:
    async def on_merged(conn: asyncpg.Connection, inbound: Inbound) -> None:
        payload: CustomerMerged = inbound.payload  # type: ignore[assignment]
        survivor = await survivor_of(conn, inbound.envelope.customer_id)
        merged = await survivor_of(conn, payload.merged_customer_id)
        if merged != survivor:
            await merge(conn, merged, survivor, policy, now(), inbound.envelope)

    return on_merged
