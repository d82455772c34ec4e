"""Loss proposals (战败申请) in PostgreSQL: the whole proposal as JSON, with columns for the queries."""
from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from shared.errors import NotFound

from .domain import LossProposal

PROPOSAL_ORDER = (datetime, uuid.UUID)  # a proposal list's order: (proposed_at, proposal_id)


async def load(conn: asyncpg.Connection, proposal_id: uuid.UUID) -> LossProposal:
    """The proposal, locked; 404 naming `proposal_id` when unknown."""
    row = await conn.fetchrow("select data::text as data from loss_proposals where proposal_id = $1 for update",
                              proposal_id)
    if row is None:
        raise NotFound(f"loss proposal {proposal_id} not found", field="proposal_id", location="path")
    return LossProposal.model_validate_json(row["data"])


async def pending_of(conn: asyncpg.Connection, customer_id: uuid.UUID) -> LossProposal | None:
    """The customer's proposal waiting for a decision, if any."""
    row = await conn.fetchrow("select data::text as data from loss_proposals where customer_id = $1 "
                              "and status = 'proposed'", customer_id)
    return LossProposal.model_validate_json(row["data"]) if row else None


async def save(conn: asyncpg.Connection, proposal: LossProposal) -> None:
    await conn.execute(
        """insert into loss_proposals (proposal_id, customer_id, status, data, proposed_at)
           values ($1, $2, $3, $4::jsonb, $5) on conflict (proposal_id) do update
           set status = excluded.status, data = excluded.data""",
        proposal.proposal_id, proposal.customer_id, proposal.status.value, proposal.model_dump_json(),
        proposal.proposed_at)


async def listed(conn: asyncpg.Connection, *, status: str, owners: list[str] | None, after: tuple | None,
                 limit: int) -> list[LossProposal]:
    """Proposals of this status whose customer is in `owners` (or unowned; None: everybody's), oldest
    first, after the position `after` (None: from the start); `limit` rows at most."""
    rows = await conn.fetch(
        """select l.data::text as data from loss_proposals l left join prospects p using (customer_id)
           where l.status = $1 and ($2::text[] is null or p.owner_id = any($2) or p.owner_id is null)
             and ($3::timestamptz is null or (l.proposed_at, l.proposal_id) > ($3, $4::uuid))
           order by l.proposed_at, l.proposal_id limit $5""",
        status, owners, after[0] if after else None, after[1] if after else None, limit)
    return [LossProposal.model_validate_json(r["data"]) for r in rows]
