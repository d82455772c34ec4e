"""What intake learns from other services about the people who use it:

- ``consultant-updated`` and ``customer-assigned`` (follow-up's roster and assignment):
  each consultant's team and each customer's owner, so that access to customer records
  is decided here on the same owner as everywhere;
- ``personal-data-read`` (a full read of a customer's personal data served by
  another service, e.g. the 360 view): written into intake's one audit trail.
"""
from __future__ import annotations

import asyncpg

from shared.app import ConsumerSpec
from shared.events.contract import PersonalDataRead
from shared.events.topics import PERSONAL_DATA_READ
from shared.runtime import ownership
from shared.runtime.consumer import Inbound

CONSUMER_GROUP = "intake-staff"


async def record_read(conn: asyncpg.Connection, inbound: Inbound) -> None:
    read: PersonalDataRead = inbound.payload  # type: ignore[assignment]
    what = f"{read.what} ({inbound.envelope.producer})"
    await conn.execute(
        "insert into audit_reads (subject, role, customer_id, read_at, what) values ($1, $2, $3, $4, $5)",
        read.subject, read.role.value, inbound.envelope.customer_id, read.read_at, what)


def consumer_spec() -> ConsumerSpec:
    return ConsumerSpec(group=CONSUMER_GROUP, handlers={**ownership.HANDLERS, PERSONAL_DATA_READ: record_read})
