"""Grading's event handlers: turn incoming events into intent grades."""
from __future__ import annotations

import asyncpg

from shared.events.enums import IntentGrade, PurchaseTimeframe
from shared.events.envelope import new_event
from shared.events.contract import ContactReceived, ProspectGraded
from shared.runtime.consumer import Inbound
from shared.runtime.store import append

SERVICE = "grading"
POLICY_VERSION = "skeleton-1"
_BY_TIMEFRAME = {
    PurchaseTimeframe.NOW: IntentGrade.O, PurchaseTimeframe.WITHIN_7_DAYS: IntentGrade.H,
    PurchaseTimeframe.WITHIN_1_MONTH: IntentGrade.A, PurchaseTimeframe.ONE_TO_3_MONTHS: IntentGrade.B,
}


def prospect_stream(customer_id) -> str:
    return f"prospect-{customer_id}"


async def on_contact_received(conn: asyncpg.Connection, inbound: Inbound) -> None:
    contact: ContactReceived = inbound.payload  # type: ignore[assignment]
    envelope = inbound.envelope
    grade = contact.initial_grade or _BY_TIMEFRAME.get(contact.purchase_timeframe, IntentGrade.C)
    rule = "initial_grade" if contact.initial_grade else "timeframe"
    previous = await conn.fetchval("select grade from prospects where customer_id = $1", envelope.customer_id)
    if previous == grade.value:
        return
    await conn.execute(
        """insert into prospects (customer_id, grade, rule, consultant_id, policy_version, updated_at)
           values ($1, $2, $3, $4, $5, $6) on conflict (customer_id) do update
           set grade = excluded.grade, rule = excluded.rule,
               consultant_id = coalesce(excluded.consultant_id, prospects.consultant_id),
               policy_version = excluded.policy_version, updated_at = excluded.updated_at""",
        envelope.customer_id, grade.value, rule, contact.consultant_id, POLICY_VERSION, envelope.occurred_at,
    )
    seq = await conn.fetchval(
        "select coalesce(max(seq), 0) + 1 from grade_history where customer_id = $1", envelope.customer_id)
    await conn.execute(
        """insert into grade_history (customer_id, seq, grade, previous_grade, rule, cause_event_id,
                                      policy_version, changed_at) values ($1, $2, $3, $4, $5, $6, $7, $8)""",
        envelope.customer_id, seq, grade.value, previous, rule, envelope.event_id, POLICY_VERSION,
        envelope.occurred_at,
    )
    graded = ProspectGraded(
        grade=grade, previous_grade=previous, rule=rule, cause_event_id=envelope.event_id,
        policy_version=POLICY_VERSION, consultant_id=contact.consultant_id,
    )
    await append(conn, prospect_stream(envelope.customer_id), [
        new_event(graded, customer_id=envelope.customer_id, producer=SERVICE,
                  occurred_at=envelope.occurred_at, causation=envelope),
    ])
