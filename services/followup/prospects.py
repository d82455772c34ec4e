"""Follow-up's record of each person it works for: owner, grade, status, consent.

Whichever event arrives first (contact-received, prospect-graded,
consent-changed, ...) creates the row; the others fill it in, so the outcome
does not depend on the order in which topics deliver.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from shared.events.enums import IntentGrade

from .domain import OwnerBasis, Ownership, ProspectStatus

ACTIVE, LOST, CUSTOMER = "active", "lost", "customer"


@dataclass(frozen=True)
class Prospect:
    customer_id: uuid.UUID
    owner_id: str | None
    grade: IntentGrade | None
    status: str
    status_at: datetime | None
    contacted: bool
    last_contact_at: datetime | None
    marketing_allowed: bool
    consent_at: datetime | None
    birthday: date | None
    owner_basis: OwnerBasis | None = None

    @property
    def ownership(self) -> Ownership:
        return Ownership(self.owner_id, self.owner_basis)

    @property
    def cadence_status(self) -> ProspectStatus:
        """The domain's view: lost (战败), closed (became a customer) or active."""
        return {LOST: ProspectStatus.LOST, CUSTOMER: ProspectStatus.CLOSED}.get(self.status, ProspectStatus.ACTIVE)

    def as_json(self) -> dict:
        return {"customer_id": self.customer_id, "owner_id": self.owner_id,
                "grade": self.grade.value if self.grade else None, "status": self.status,
                "contacted": self.contacted, "last_contact_at": self.last_contact_at,
                "marketing_allowed": self.marketing_allowed, "birthday": self.birthday}


def from_row(row: asyncpg.Record) -> Prospect:
    return Prospect(row["customer_id"], row["owner_id"], IntentGrade(row["grade"]) if row["grade"] else None,
                    row["status"], row["status_at"], row["contacted"], row["last_contact_at"],
                    row["marketing_allowed"], row["consent_at"], row["birthday"],
                    OwnerBasis(row["owner_basis"]) if row["owner_basis"] else None)


async def load(conn: asyncpg.Connection, customer_id: uuid.UUID, *, create: bool = True) -> Prospect | None:
    """The prospect row, locked for the rest of the transaction (created empty if `create`).
    One round trip when it exists (the common case); a concurrent creator is waited for."""
    row = await conn.fetchrow("select * from prospects where customer_id = $1 for update", customer_id)
    if row is None and create:
        row = await conn.fetchrow("insert into prospects (customer_id) values ($1) on conflict do nothing "
                                  "returning *", customer_id)
        if row is None:  # created meanwhile by another transaction, now committed
            row = await conn.fetchrow("select * from prospects where customer_id = $1 for update", customer_id)
    return None if row is None else from_row(row)


async def update(conn: asyncpg.Connection, customer_id: uuid.UUID, **fields) -> Prospect | None:
    """Change fields; returns the prospect as it now is (None if there is no such prospect)."""
    if not fields:
        return await load(conn, customer_id, create=False)
    names = list(fields)
    sets = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    row = await conn.fetchrow(f"update prospects set {sets}, updated_at = now() where customer_id = $1 returning *",
                              customer_id, *[fields[n] for n in names])
    return None if row is None else from_row(row)


async def delete(conn: asyncpg.Connection, customer_id: uuid.UUID) -> None:
    await conn.execute("delete from prospects where customer_id = $1", customer_id)
