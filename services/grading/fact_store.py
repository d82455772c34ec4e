"""The facts grading is computed from, one row per (event, kind), per customer.

Grades and values are pure functions of the set of facts, so storing the
facts (not the arrival order) is what makes grading independent of the
interleaving of topics. A merged customer's facts belong to the survivor.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
from pydantic import BaseModel, TypeAdapter

from .domain import GradingFact
from .domain.customer_value import CardFact, PaymentFact, PurchaseFact

INTENT_KINDS = ("contact_received", "follow_up", "deal_closed", "complaint_filed",
                "consultant_override", "loss_approved")
PURCHASE, REFERRAL, PAYMENT, CARD = "purchase", "referral", "payment", "card"
_INTENT = TypeAdapter(GradingFact)


async def lock_customer(conn: asyncpg.Connection, customer_id: uuid.UUID) -> None:
    """Serialize regrading of one customer until the transaction ends (consumers, overrides, replicas)."""
    await conn.execute("select pg_advisory_xact_lock(hashtextextended('grading:' || $1::uuid::text, 0))", customer_id)


async def survivor_of(conn: asyncpg.Connection, customer_id: uuid.UUID) -> uuid.UUID:
    """The customer a (possibly merged) id now belongs to."""
    seen = {customer_id}
    while True:
        survivor = await conn.fetchval(
            "select survivor_id from merged_customers where merged_customer_id = $1", customer_id)
        if survivor is None or survivor in seen:
            return customer_id
        seen.add(survivor)
        customer_id = survivor


async def record(conn: asyncpg.Connection, customer_id: uuid.UUID, fact: BaseModel, *,
                 kind: str | None = None, fact_id: uuid.UUID | None = None,
                 occurred_at: datetime | None = None, consultant_id: str | None = None) -> uuid.UUID:
    """Store a fact for the customer or its survivor (once); returns the owner's id."""
    owner = await survivor_of(conn, customer_id)
    await conn.execute(
        """insert into grading_facts (fact_id, kind, customer_id, occurred_at, consultant_id, data)
           values ($1, $2, $3, $4, $5, $6::jsonb) on conflict do nothing""",
        fact_id or fact.fact_id, kind or fact.kind, owner, occurred_at or fact.occurred_at,
        consultant_id, fact.model_dump_json(),
    )
    return owner


async def intent_facts(conn: asyncpg.Connection, customer_id: uuid.UUID) -> list[GradingFact]:
    rows = await conn.fetch(
        "select data::text as data from grading_facts where customer_id = $1 and kind = any($2)",
        customer_id, list(INTENT_KINDS))
    return [_INTENT.validate_json(r["data"]) for r in rows]


async def fact_kinds(conn: asyncpg.Connection, customer_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = await conn.fetch("select fact_id, kind from grading_facts where customer_id = $1 and kind = any($2)",
                            customer_id, list(INTENT_KINDS))
    return {r["fact_id"]: r["kind"] for r in rows}


async def consultant_of(conn: asyncpg.Connection, customer_id: uuid.UUID) -> str | None:
    """The consultant named by the latest fact that names one."""
    return await conn.fetchval(
        """select consultant_id from grading_facts where customer_id = $1 and consultant_id is not null
           order by occurred_at desc, fact_id desc limit 1""", customer_id)


async def purchases(conn: asyncpg.Connection, customer_id: uuid.UUID) -> list[PurchaseFact]:
    rows = await conn.fetch("select data::text as data from grading_facts where customer_id = $1 and kind = $2",
                            customer_id, PURCHASE)
    return [PurchaseFact.model_validate_json(r["data"]) for r in rows]


async def payments_and_cards(conn: asyncpg.Connection,
                             customer_id: uuid.UUID) -> tuple[list[PaymentFact], list[CardFact]]:
    """The customer's payments and value-relevant card updates (for credit, size and share)."""
    rows = await conn.fetch(
        "select kind, data::text as data from grading_facts where customer_id = $1 and kind = any($2)",
        customer_id, [PAYMENT, CARD])
    return ([PaymentFact.model_validate_json(r["data"]) for r in rows if r["kind"] == PAYMENT],
            [CardFact.model_validate_json(r["data"]) for r in rows if r["kind"] == CARD])


async def value_counts(conn: asyncpg.Connection, customer_id: uuid.UUID) -> asyncpg.Record:
    """complaints, referrals and the first contact's time of one customer."""
    return await conn.fetchrow(
        """select count(*) filter (where kind = 'complaint_filed') as complaints,
                  count(*) filter (where kind = $2) as referrals,
                  min(occurred_at) filter (where kind = 'contact_received') as first_contact_at
           from grading_facts where customer_id = $1""", customer_id, REFERRAL)


async def move_to_survivor(conn: asyncpg.Connection, merged: uuid.UUID, survivor: uuid.UUID,
                           merged_at: datetime) -> None:
    """Record the merge and give the merged customer's facts to the survivor."""
    await conn.execute(
        """insert into merged_customers (merged_customer_id, survivor_id, merged_at) values ($1, $2, $3)
           on conflict (merged_customer_id) do nothing""", merged, survivor, merged_at)
    await conn.execute("update grading_facts set customer_id = $2 where customer_id = $1", merged, survivor)
