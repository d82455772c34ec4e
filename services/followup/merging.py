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

from . import complaint_store, ownership, prospects, task_store
from .cadence_work import reconcile
from .domain import FollowUpPolicy, OwnerBasis, reassign_customer, task_scheduled
from .prospects import Prospect


async def survivor_of(conn: asyncpg.Connection, customer_id: uuid.UUID) -> uuid.UUID:
    seen = {customer_id}
    while (nxt := await conn.fetchval("select merged_into from prospects where customer_id = $1",
                                      customer_id)) is not None and nxt not in seen:
        seen.add(nxt)
        customer_id = nxt
    return customer_id


# Each id's chain of merges followed to its end in one statement; `seen` stops a cycle where
# `survivor_of` stops (at the last id before one seen already).
_SURVIVORS = """
with recursive chain(start, id, seen) as (
    select s, s, array[s] from unnest($1::uuid[]) as s
    union all
    select c.start, p.merged_into, c.seen || p.merged_into from chain c join prospects p on p.customer_id = c.id
    where p.merged_into is not null and not p.merged_into = any(c.seen))
select distinct on (start) start, id from chain order by start, cardinality(seen) desc"""


async def survivors_of(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """`survivor_of` each of these ids, in one statement."""
    return {r["start"]: r["id"] for r in await conn.fetch(_SURVIVORS, sorted(set(customer_ids)))}


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
    p = await prospects.update(
        conn, survivor, grade=(a.grade or b.grade).value if (a.grade or b.grade)
        else None, contacted=a.contacted or b.contacted, last_contact_at=max(contacts) if contacts else None,
        marketing_allowed=b.marketing_allowed if newer_consent else a.marketing_allowed,
        consent_at=b.consent_at if newer_consent else a.consent_at, birthday=a.birthday or b.birthday)
    b = await prospects.update(conn, merged, merged_into=survivor, status="merged", status_at=now)
    p = await _one_owner(conn, p, b, now, causation)
    await reconcile(conn, p, policy, now, previous_grade=p.grade, causation=causation)  # one cadence, not two


async def _one_owner(conn: asyncpg.Connection, survivor: Prospect, merged: Prospect, now: datetime,
                     causation) -> Prospect:
    """The survivor keeps its owner (or takes the merged record's when it had none); the work that
    came with the merged record goes to that owner, and the merged id now leads to them too."""
    owner = survivor.owner_id or merged.owner_id
    if owner is None:
        return survivor
    if owner != survivor.owner_id:
        survivor = (await ownership.change_owner(conn, survivor, owner, OwnerBasis.MERGED, now, causation))[0]
    else:
        pending = await task_store.of_customer(conn, survivor.customer_id)
        await task_store.record_changes(conn, reassign_customer(pending, survivor.customer_id, owner), now, causation)
    await ownership.change_owner(conn, merged, owner, OwnerBasis.MERGED, now, causation)
    return survivor


def on_merged_handler(policy: FollowUpPolicy, now: Callable[[], datetime]) -> Handler:
    async def on_merged(conn: asyncpg.Connection, inbound: Inbound) -> None:
        payload: CustomerMerged = inbound.payload  # type: ignore[assignment]
        survivor = await survivor_of(conn, inbound.envelope.customer_id)
        merged = await survivor_of(conn, payload.merged_customer_id)
        if merged != survivor:
            await merge(conn, merged, survivor, policy, now(), inbound.envelope)

    return on_merged
