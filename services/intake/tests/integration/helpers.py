"""Small helpers of intake's integration tests (the running stack via `api`)."""
from __future__ import annotations

import uuid

from tests.support.problems import problem_fields


def new_phone() -> str:
    """A fresh valid mainland mobile number (E.164)."""
    return f"+86139{uuid.uuid4().int % 10**8:08d}"


def spaced(e164: str) -> str:
    """"+8613912345678" -> "139 1234 5678"."""
    n = e164[3:]
    return f"{n[:3]} {n[3:7]} {n[7:]}"


def walk_in(**over) -> dict:
    return {"channel": "walk_in", "name": "王芳", "phone": over.pop("phone", new_phone()),
            "region": "上海", "purpose": "看车", "party_size": 2, "receptionist": "R01",
            "initial_grade": "B", "consultant_id": "c-001", "purchase_timeframe": "1_to_3_months", **over}


def fields_of(response) -> list[str]:
    return problem_fields(response)


async def count(api, sql: str, *args) -> int:
    conn = await api.db("intake")
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def events_of(api, customer_id: str, event_type: str, *, opened: bool = True) -> list[dict]:
    """The customer's events of this type as intake stored them; `opened`: with the personal fields
    (stored sealed, shared.pii_seal) opened with the customer's key from the vault."""
    import asyncpg

    from shared.events.envelope import Envelope
    from shared.pii_seal import unseal_envelope

    conn = await api.db("intake")
    try:
        rows = await conn.fetch("select envelope::text from event_store where customer_id = $1 and event_type = $2 "
                                "order by position", uuid.UUID(customer_id), event_type)
    finally:
        await conn.close()
    envelopes = [Envelope.model_validate_json(r[0]) for r in rows]
    if opened and any(e.sealed for e in envelopes):
        vault = await asyncpg.connect(api.stack.services["intake"].env["CRM_VAULT_URL"])
        try:
            key = await vault.fetchval("select key from customer_keys where customer_id = $1", uuid.UUID(customer_id))
        finally:
            await vault.close()
        envelopes = [unseal_envelope(e, key) for e in envelopes]
    return [e.model_dump(mode="json") for e in envelopes]
