"""The facts grading is computed from, one row per (event, kind), per customer.

Grades and values are pure functions of the set of facts, so storing the
facts (not the arrival order) is what makes grading independent of the
interleaving of topics. A merged customer's facts belong to the survivor.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

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


async def lock_customers(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> None:
    """`lock_customer` for many, in ascending id (the lock order), in one statement."""
    if customer_ids:
        await conn.execute(
            """select pg_advisory_xact_lock(hashtextextended('grading:' || c::text, 0))
               from (select distinct c from unnest($1::uuid[]) as c order by c) as ordered""", customer_ids)


async def survivor_of(conn: asyncpg.Connection, customer_id: uuid.UUID) -> uuid.UUID:
    """The customer a (possibly merged) id now belongs to."""
    return (await survivors_of(conn, [customer_id]))[customer_id]


_SURVIVORS = """
with recursive chain (start, id, path) as (
    select s, s, array[s] from unnest($1::uuid[]) as s
    union all
    select c.start, m.survivor_id, c.path || m.survivor_id
    from chain c join merged_customers m on m.merged_customer_id = c.id
    where m.survivor_id <> all(c.path)
)
select distinct on (start) start, id from chain order by start, cardinality(path) desc"""


async def survivors_of(conn: asyncpg.Connection, customer_ids) -> dict[uuid.UUID, uuid.UUID]:
    """The customer each (possibly merged) id now belongs to, in one statement: the end of its chain
    of merges (a chain that comes back on itself ends before it repeats)."""
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return {}
    return {r["start"]: r["id"] for r in await conn.fetch(_SURVIVORS, ids)}


class Fact(NamedTuple):
    """A fact to store for a customer (its survivor's id already resolved)."""

    owner: uuid.UUID
    fact: BaseModel
    consultant_id: str | None = None


async def record(conn: asyncpg.Connection, customer_id: uuid.UUID, fact: BaseModel, *,
                 consultant_id: str | None = None) -> uuid.UUID:
    """Store a fact for the customer or its survivor (once); returns the owner's id."""
    owner = await survivor_of(conn, customer_id)
    await record_many(conn, [Fact(owner, fact, consultant_id)])
    return owner


async def record_many(conn: asyncpg.Connection, facts: list[Fact]) -> None:
    """Store facts in one statement, each once (a fact stored before, or earlier in `facts`, stays)."""
    if not facts:
        return
    await conn.execute(
        """insert into grading_facts (fact_id, kind, customer_id, occurred_at, consultant_id, data)
           select * from unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::text[], $6::jsonb[])
           on conflict do nothing""",
        [f.fact.fact_id for f in facts], [f.fact.kind for f in facts], [f.owner for f in facts],
        [f.fact.occurred_at for f in facts], [f.consultant_id for f in facts],
        [f.fact.model_dump_json() for f in facts],
    )


async def intent_facts_of(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]
                          ) -> tuple[dict[uuid.UUID, list[GradingFact]], dict[uuid.UUID, dict[uuid.UUID, str]]]:
    """The intent facts of these customers, and each fact's kind, by customer (one statement)."""
    facts: dict[uuid.UUID, list[GradingFact]] = {}
    kinds: dict[uuid.UUID, dict[uuid.UUID, str]] = {}
    for r in await conn.fetch("select customer_id, fact_id, kind, data::text as data from grading_facts "
                              "where customer_id = any($1::uuid[]) and kind = any($2)",
                              customer_ids, list(INTENT_KINDS)):
        facts.setdefault(r["customer_id"], []).append(_INTENT.validate_json(r["data"]))
        kinds.setdefault(r["customer_id"], {})[r["fact_id"]] = r["kind"]
    return facts, kinds


async def purchases(conn: asyncpg.Connection, customer_id: uuid.UUID) -> list[PurchaseFact]:
    return await purchases_of(conn, [customer_id])


async def purchases_of(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> list[PurchaseFact]:
    """The purchases of these customers (the facts of merged ids are already the survivor's)."""
    if not customer_ids:
        return []
    rows = await conn.fetch(
        "select data::text as data from grading_facts where customer_id = any($1::uuid[]) and kind = $2",
        customer_ids, PURCHASE)
    return [PurchaseFact.model_validate_json(r["data"]) for r in rows]


async def with_purchases(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these customers have a purchase."""
    rows = await conn.fetch("select distinct customer_id from grading_facts where customer_id = any($1::uuid[]) "
                            "and kind = $2", customer_ids, PURCHASE)
    return {r["customer_id"] for r in rows}


async def referred_customers(conn: asyncpg.Connection, referrer: uuid.UUID) -> set[uuid.UUID]:
    """The customers `referrer` referred, each as the survivor it now is, never itself (a referral
    between two records that were merged later is no referral)."""
    rows = await conn.fetch(
        "select distinct (data->>'referred_customer_id')::uuid as referred from grading_facts "
        "where customer_id = $1 and kind = $2", referrer, REFERRAL)
    survivors = await survivors_of(conn, [r["referred"] for r in rows])
    return set(survivors.values()) - {referrer}


async def referrers_of(conn: asyncpg.Connection, customer_id: uuid.UUID) -> list[uuid.UUID]:
    """Who referred this customer or any record merged into it (their referral gains follow its deals)."""
    aliases = await conn.fetch(
        """with recursive aliases (id) as (
               select $1::uuid
               union select m.merged_customer_id from merged_customers m join aliases a on m.survivor_id = a.id)
           select id from aliases""", customer_id)
    rows = await conn.fetch(  # kind spelled out: the partial index grading_facts_referrals
        """select distinct customer_id from grading_facts
           where kind = 'referral' and (data->>'referred_customer_id')::uuid = any($1::uuid[])
             and customer_id <> $2 order by customer_id""", [r["id"] for r in aliases], customer_id)
    return [r["customer_id"] for r in rows]


# Every valued customer's ranking profit (its deals' gross profit plus its referral gains), purchase
# count, from the facts alone: the SQL twin of customer_value.ranking_profit (same survivors, same
# exclusion of self-referrals, same per-deal rounding: round() is half up for the non-negative gains).
RANKING_PROFITS = """
with recursive chain (merged, survivor, depth) as (
    select merged_customer_id, survivor_id, 1 from merged_customers
    union all
    select c.merged, m.survivor_id, c.depth + 1
    from chain c join merged_customers m on m.merged_customer_id = c.survivor
    where c.depth < 64 and m.survivor_id <> c.merged
),
final as (select distinct on (merged) merged, survivor from chain order by merged, depth desc),
own as (
    select customer_id, sum((data->>'gross_profit')::numeric) as profit, count(*) as purchases
    from grading_facts where kind = 'purchase' group by customer_id
),
referred as (
    select distinct r.customer_id as referrer,
           coalesce(f.survivor, (r.data->>'referred_customer_id')::uuid) as referred
    from grading_facts r left join final f on f.merged = (r.data->>'referred_customer_id')::uuid
    where r.kind = 'referral'
),
gains as (
    select x.referrer, sum(round(greatest((p.data->>'gross_profit')::numeric, 0) * $1::numeric, 2)) as gains
    from referred x join grading_facts p on p.customer_id = x.referred and p.kind = 'purchase'
    where x.referred <> x.referrer
    group by x.referrer
)
select o.customer_id, o.profit + coalesce(g.gains, 0) as profit, o.purchases
from own o left join gains g on g.referrer = o.customer_id
"""


async def ranking_profits(conn: asyncpg.Connection, referral_gain_share) -> list[asyncpg.Record]:
    """(customer_id, profit, purchases) of every customer with purchases, in one aggregate."""
    return await conn.fetch(RANKING_PROFITS, referral_gain_share)


async def payments_and_cards(conn: asyncpg.Connection,
                             customer_id: uuid.UUID) -> tuple[list[PaymentFact], list[CardFact]]:
    """The customer's payments and value-relevant card updates (for credit, size and share)."""
    rows = await conn.fetch(
        "select kind, data::text as data from grading_facts where customer_id = $1 and kind = any($2)",
        customer_id, [PAYMENT, CARD])
    return ([PaymentFact.model_validate_json(r["data"]) for r in rows if r["kind"] == PAYMENT],
            [CardFact.model_validate_json(r["data"]) for r in rows if r["kind"] == CARD])


async def value_counts(conn: asyncpg.Connection, customer_id: uuid.UUID) -> asyncpg.Record:
    """complaints and the first contact's time of one customer (referrals: `referred_customers`)."""
    return await conn.fetchrow(
        """select count(*) filter (where kind = 'complaint_filed') as complaints,
                  min(occurred_at) filter (where kind = 'contact_received') as first_contact_at
           from grading_facts where customer_id = $1""", customer_id)


class ValueFacts(NamedTuple):
    """What value grading reads of one customer (`value_facts_of`)."""

    purchases: list[PurchaseFact]
    complaints: int
    first_contact_at: datetime | None
    payments: list[PaymentFact]
    cards: list[CardFact]
    referred: list[uuid.UUID]  # the survivors it referred, never itself, in id order
    referred_purchases: list[PurchaseFact]


_VALUE_KINDS = [PURCHASE, PAYMENT, CARD, REFERRAL, "complaint_filed", "contact_received"]


async def value_facts_of(conn: asyncpg.Connection, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, ValueFacts]:
    """Everything stored about these customers' values, their referred customers' deals included,
    in at most three statements whatever their number (the batch twin of `purchases`,
    `value_counts`, `payments_and_cards`, `referred_customers` and `purchases_of` one customer at a time)."""
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return {}
    rows = await conn.fetch(
        """select customer_id, kind, occurred_at,
                  case when kind in ('purchase', 'payment', 'card') then data::text end as data,
                  (data->>'referred_customer_id')::uuid as referred
           from grading_facts where customer_id = any($1::uuid[]) and kind = any($2)""", ids, _VALUE_KINDS)
    facts = {c: ValueFacts([], 0, None, [], [], [], []) for c in ids}
    complaints: dict[uuid.UUID, int] = {}
    first: dict[uuid.UUID, datetime] = {}
    referred_ids: dict[uuid.UUID, set[uuid.UUID]] = {}
    for r in rows:
        c, kind, f = r["customer_id"], r["kind"], facts[r["customer_id"]]
        if kind == PURCHASE:
            f.purchases.append(PurchaseFact.model_validate_json(r["data"]))
        elif kind == PAYMENT:
            f.payments.append(PaymentFact.model_validate_json(r["data"]))
        elif kind == CARD:
            f.cards.append(CardFact.model_validate_json(r["data"]))
        elif kind == REFERRAL:
            if r["referred"] is not None:
                referred_ids.setdefault(c, set()).add(r["referred"])
        elif kind == "complaint_filed":
            complaints[c] = complaints.get(c, 0) + 1
        elif first.get(c) is None or r["occurred_at"] < first[c]:
            first[c] = r["occurred_at"]
    survivors = await survivors_of(conn, sorted({r for refs in referred_ids.values() for r in refs}))
    referred = {c: sorted({survivors[r] for r in refs} - {c}) for c, refs in referred_ids.items()}
    bought = await _purchases_by_customer(conn, sorted({r for refs in referred.values() for r in refs}))
    return {c: f._replace(complaints=complaints.get(c, 0), first_contact_at=first.get(c),
                          referred=referred.get(c, []),
                          referred_purchases=[p for r in referred.get(c, []) for p in bought.get(r, [])])
            for c, f in facts.items()}


async def _purchases_by_customer(conn: asyncpg.Connection,
                                 customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[PurchaseFact]]:
    if not customer_ids:
        return {}
    out: dict[uuid.UUID, list[PurchaseFact]] = {}
    for r in await conn.fetch("select customer_id, data::text as data from grading_facts "
                              "where customer_id = any($1::uuid[]) and kind = $2", customer_ids, PURCHASE):
        out.setdefault(r["customer_id"], []).append(PurchaseFact.model_validate_json(r["data"]))
    return out


async def move_to_survivor(conn: asyncpg.Connection, merged: uuid.UUID, survivor: uuid.UUID,
                           merged_at: datetime) -> None:
    """Record the merge and give the merged customer's facts to the survivor."""
    await conn.execute(
        """insert into merged_customers (merged_customer_id, survivor_id, merged_at) values ($1, $2, $3)
           on conflict (merged_customer_id) do nothing""", merged, survivor, merged_at)
    await conn.execute("update grading_facts set customer_id = $2 where customer_id = $1", merged, survivor)


async def erase_free_text(conn: asyncpg.Connection, customer_ids: list[uuid.UUID], erased: str) -> None:
    """Overwrite the free text kept about these customers: override reasons and loss notes, in the
    facts, the grade history and the current grade."""
    await conn.execute(
        """update grading_facts set data = case kind
               when 'consultant_override' then jsonb_set(data, '{reason}', to_jsonb($2::text))
               else data - 'note' end
           where customer_id = any($1) and kind in ('consultant_override', 'loss_approved')""",
        customer_ids, erased)
    await conn.execute("update grade_history set reason = $2 where customer_id = any($1) and reason is not null",
                       customer_ids, erased)
    await conn.execute("update prospects set override_reason = $2 where customer_id = any($1) "
                       "and override_reason is not null", customer_ids, erased)
