"""Customers' names on the report rows that list customers (the Pareto ranking, the customers in
decline): the name on the stored card, masked by shared.masking unless the access policy lets the
reader see this customer's personal data (shared.access, on the owner follow-up decided, as the
360 judges it); a name a person sees unmasked is audited like any full read."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from shared.access import own_consultant_id, relation_of, sees_personal_data
from shared.auth import Principal
from shared.events.enums import Role
from shared.masking import mask_field
from shared.runtime import ownership
from shared.runtime.audit import audit_full_reads

from .tables import CARDS

LISTS = {"pareto": "rows", "lifecycle": "in_decline"}  # report -> its list of customers


async def name_customers(conn: asyncpg.Connection, principal: Principal, report: str, body: dict[str, Any],
                         now: datetime) -> None:
    """Add `customer_name` to each customer row of `body` (in place), masked where due."""
    rows = body.get(LISTS.get(report, ""), [])
    if not rows:
        return
    ids = [uuid.UUID(r["customer_id"]) for r in rows]
    names = dict(await conn.fetch(
        f"select customer_id, card::jsonb #>> '{{profile,name}}' from {CARDS} where customer_id = any($1)", ids))
    owners = await ownership.owners_of(conn, ids)
    own_team = (await ownership.team_of(conn, own_consultant_id(principal))
                if principal.role is Role.CONSULTANT else None)
    read: list[uuid.UUID] = []
    for row, customer_id in zip(rows, ids, strict=True):
        name = names.get(customer_id)
        full = sees_personal_data(principal, relation_of(principal, owners[customer_id], own_team))
        row["customer_name"] = mask_field("name", name, full=full)
        if full and name and principal.is_person:
            read.append(customer_id)
    await audit_full_reads(conn, principal, read, f"report {report}: name", now)
