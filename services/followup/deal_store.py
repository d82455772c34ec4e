"""Deals and payments in PostgreSQL (the rows the use cases in `deals` read and write)."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import asyncpg

from shared.events.contract import DealClosed

from .schemas import NewPayment


async def insert(conn: asyncpg.Connection, deal: DealClosed, customer_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        """insert into deals (deal_id, customer_id, consultant_id, amount, gross_profit, deposit, closed_on, data,
                              recorded_at, payment_due_on)
           values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)""",
        deal.deal_id, customer_id, deal.consultant_id, deal.amount, deal.gross_profit, deal.deposit, deal.closed_on,
        deal.model_dump_json(), now, deal.payment_due_on)


_INSERT_MANY = """
insert into deals (deal_id, customer_id, consultant_id, amount, gross_profit, deposit, closed_on, data, recorded_at,
                   payment_due_on)
select d, c, k, a, g, p, o, j, $9, u
from unnest($1::uuid[], $2::uuid[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[], $7::date[], $8::jsonb[],
            $10::date[]) as t(d, c, k, a, g, p, o, j, u)"""


async def insert_many(conn: asyncpg.Connection, deals: list[tuple[DealClosed, uuid.UUID]], now: datetime) -> None:
    """`insert` of many deals (each with its customer) in one statement."""
    if deals:
        await conn.execute(_INSERT_MANY, *(list(c) for c in zip(*(
            (d.deal_id, customer_id, d.consultant_id, d.amount, d.gross_profit, d.deposit, d.closed_on,
             d.model_dump_json()) for d, customer_id in deals), strict=True)), now,
            [d.payment_due_on for d, _ in deals])


async def for_payment(conn: asyncpg.Connection, deal_id: uuid.UUID) -> asyncpg.Record | None:
    """The deal a payment is recorded against, locked: two payments of one deal take turns."""
    return await conn.fetchrow(
        """select customer_id, amount, deposit, closed_on, coalesce(payment_due_on, closed_on) as due_on
           from deals where deal_id = $1 for update""", deal_id)


async def payments_of(conn: asyncpg.Connection, deal_id: uuid.UUID) -> Iterable[Decimal]:
    return [r["amount"] for r in await conn.fetch("select amount from payments where deal_id = $1", deal_id)]


async def insert_payment(conn: asyncpg.Connection, payment_id: uuid.UUID, deal_id: uuid.UUID, body: NewPayment,
                         balance_after: Decimal, recorded_by: str, now: datetime) -> None:
    await conn.execute(
        """insert into payments (payment_id, deal_id, amount, paid_on, note, balance_after, recorded_by,
                                 recorded_at) values ($1, $2, $3, $4, $5, $6, $7, $8)""",
        payment_id, deal_id, body.amount, body.paid_on, body.note, balance_after, recorded_by, now)


_PAYMENTS = """
insert into payments (payment_id, deal_id, amount, paid_on, note, balance_after, recorded_by, recorded_at)
select i, d, a, p, n, b, $7, $8 from unnest($1::uuid[], $2::uuid[], $3::numeric[], $4::date[], $5::text[],
                                           $6::numeric[]) as t(i, d, a, p, n, b)"""


async def insert_payments(conn: asyncpg.Connection, payments: list[tuple[uuid.UUID, uuid.UUID, NewPayment, Decimal]],
                          recorded_by: str, now: datetime) -> None:
    """`insert_payment` of many (payment id, deal id, payment, balance after) in one statement."""
    if payments:
        await conn.execute(_PAYMENTS, [p[0] for p in payments], [p[1] for p in payments],
                           [p[2].amount for p in payments], [p[2].paid_on for p in payments],
                           [p[2].note for p in payments], [p[3] for p in payments], recorded_by, now)
