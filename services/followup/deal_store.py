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
