"""Filing a complaint from any channel; emits complaint-filed.

The complainant is a known customer (``customer_id``, a merged id leads to the
survivor) or is found by phone/email like any contact; an unknown person
becomes a new customer, so that the complaint is never dropped.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from shared.errors import DomainValidationError
from shared.events.envelope import new_event
from shared.runtime.store import append

from . import registry
from .contacts import SERVICE, Actor
from .domain.complaints import ComplaintIn, to_complaint_filed
from .domain.contacts import resolve_occurred_at
from .domain.customers import CustomerCard
from .domain.identity import resolve_identity
from .schemas import ComplaintAccepted


async def file_complaint(conn: asyncpg.Connection, complaint: ComplaintIn, now: datetime,
                         actor: Actor) -> ComplaintAccepted:
    occurred = resolve_occurred_at(complaint, now)  # type: ignore[arg-type] - same occurred_at rule
    customer_id, is_new = await _complainant(conn, complaint, now, actor)
    complaint_id = uuid.uuid4()
    await conn.execute(
        """insert into complaints (complaint_id, customer_id, channel, severity, category, description, product,
                                   consultant_id, occurred_at, filed_by, created_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        complaint_id, customer_id, complaint.channel.value, complaint.severity.value,
        complaint.category.value if complaint.category else None, complaint.description, complaint.product,
        complaint.consultant_id, occurred, actor.subject, now)
    event = new_event(to_complaint_filed(complaint, complaint_id=complaint_id), customer_id=customer_id,
                      producer=SERVICE, occurred_at=occurred, correlation_id=actor.correlation_id, now=now)
    await append(conn, registry.customer_stream(customer_id), [event])
    return ComplaintAccepted(complaint_id=complaint_id, customer_id=customer_id, is_new_customer=is_new)


async def _complainant(conn: asyncpg.Connection, complaint: ComplaintIn, now: datetime,
                       actor: Actor) -> tuple[uuid.UUID, bool]:
    if complaint.customer_id is not None:
        found = await registry.live_id(conn, complaint.customer_id)
        if found is None:
            raise DomainValidationError(f"customer {complaint.customer_id} not found", field="customer_id")
        registry.check_not_erased(await registry.load(conn, found), location="body")
        return found, False
    keys = complaint.identity_keys()
    await registry.lock_keys(conn, [str(k) for k in keys])
    resolution = resolve_identity(keys, await registry.owners(conn, keys))
    customer_id = resolution.customer_id
    if customer_id is None:
        card = CustomerCard(name=complaint.name, phone=complaint.phone, email=complaint.email)
        customer_id = await registry.create(conn, card, now=now, by=actor.subject)
    await registry.claim_keys(conn, customer_id, resolution.keys_to_claim, now)
    return customer_id, resolution.is_new_customer
