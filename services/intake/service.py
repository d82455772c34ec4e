"""Intake use cases: take in a contact, resolve who it is, emit contact-received."""
from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from shared.errors import DomainValidationError, NotFound
from shared.events.envelope import new_event
from shared.events.contract import ContactReceived
from shared.runtime.store import append

from .domain import errors as domain_errors
from .domain.identity import normalise_email, normalise_phone
from .schemas import ContactAccepted, ContactIn

SERVICE = "intake"


def customer_stream(customer_id: uuid.UUID) -> str:
    return f"customer-{customer_id}"


def _normalised(contact: ContactIn) -> tuple[str | None, str | None]:
    try:
        phone = normalise_phone(contact.phone) if contact.phone else None
        email = normalise_email(str(contact.email)) if contact.email else None
    except domain_errors.DomainValidationError as exc:
        raise DomainValidationError(exc.message, field=exc.field) from None
    return phone, email


async def _find_customer(conn: asyncpg.Connection, phone: str | None, email: str | None) -> uuid.UUID | None:
    """A known, unmerged customer with this phone (first) or email."""
    for column, value in (("phone", phone), ("email", email)):
        if value:
            found = await conn.fetchval(
                f"select customer_id from customers where {column} = $1 and merged_into is null", value
            )
            if found:
                return found
    return None


async def receive_contact(conn: asyncpg.Connection, contact: ContactIn, now: datetime,
                          correlation_id: uuid.UUID | None = None) -> ContactAccepted:
    phone, email = _normalised(contact)
    occurred = contact.occurred_at or now
    # Serialise intake of the same identity so two concurrent first contacts make one customer.
    await conn.execute("select pg_advisory_xact_lock(hashtext($1))", phone or email)
    customer_id = await _find_customer(conn, phone, email)
    is_new = customer_id is None
    if is_new:
        customer_id = uuid.uuid4()
        await conn.execute(
            """insert into customers (customer_id, kind, name, phone, email, created_at, updated_at)
               values ($1, $2, $3, $4, $5, $6, $6)""",
            customer_id, contact.customer_kind.value, contact.name, phone, email, now,
        )
    contact_id = uuid.uuid4()
    await conn.execute(
        """insert into contacts (contact_id, customer_id, channel, occurred_at, consultant_id, campaign, details)
           values ($1, $2, $3, $4, $5, $6, $7::jsonb)""",
        contact_id, customer_id, contact.channel.value, occurred, contact.consultant_id, contact.campaign,
        contact.model_dump_json(exclude={"phone", "email", "name"}),
    )
    payload = ContactReceived(
        contact_id=contact_id, is_new_customer=is_new, phone=phone, email=email,
        **contact.model_dump(exclude={"phone", "email", "occurred_at"}),
    )
    event = new_event(payload, customer_id=customer_id, producer=SERVICE, occurred_at=occurred,
                      correlation_id=correlation_id, now=now)
    await append(conn, customer_stream(customer_id), [event])
    return ContactAccepted(contact_id=contact_id, customer_id=customer_id, is_new_customer=is_new)


async def get_customer(conn: asyncpg.Connection, customer_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        "select customer_id, kind, name, phone, email, marketing_allowed, created_at "
        "from customers where customer_id = $1", customer_id,
    )
    if row is None:
        raise NotFound(f"customer {customer_id} not found", field="customer_id", location="path")
    return row
