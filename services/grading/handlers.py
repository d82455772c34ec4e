"""Grading's event handlers: store each event's facts, then regrade and revalue.

Every handler runs inside the consumer's batch transaction (see
shared/runtime/consumer.py). The grade and the value are recomputed from the
stored set of facts, so the order in which topics deliver does not matter.
A referrer's value depends on the deals of the customers it referred (referral
gains), so it is re-valued whenever either side moves: the referral (with the
referred customer's deals so far), a deal of the referred customer, a merge.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

import asyncpg

from shared.events.contract import CustomerErased
from shared.pii_seal import ERASED_TEXT
from shared.events.envelope import Envelope
from shared.runtime.batching import applied_by_batch
from shared.runtime.consumer import Handler, Inbound

from . import fact_store, grades
from .domain import GradingPolicy, fact_from_payload
from .domain.customer_value import ReferralFact, card_fact, payment_fact, purchase_from_deal
from .values import Valuation

class GradingHandlers:
    """The grading service's consumers, sharing the policy and the value ranking."""

    def __init__(self, policy: GradingPolicy, valuation: Valuation, today: Callable[[], date]) -> None:
        self.policy, self.valuation, self.today = policy, valuation, today

    def handlers(self) -> dict[str, Handler]:
        return {
            **dict.fromkeys(FACT_TOPICS, self.store_fact), "consent-changed": self.on_consent,
            "customer-merged": self.on_merge, "customer-erased": self.on_erased,
        }

    def consumer_spec(self) -> dict:
        """How the consumer applies grading's topics: each batch whole, in order, in `apply_batch`."""
        return applied_by_batch(self.handlers(), self.apply_batch)

    async def apply_batch(self, conn: asyncpg.Connection, applied: list[Inbound]) -> None:
        """A batch in its order: the facts of each run of fact events stored in one statement, every
        other message by its handler between them; then `after_batch`."""
        handlers, run = self.handlers(), []
        for inbound in applied:
            if inbound.envelope.event_type in FACT_TOPICS:
                run.append(inbound)
                continue
            handler = handlers.get(inbound.envelope.event_type)
            if handler is not None:  # (the owners' and the roster's events were applied by their own)
                await self.store_facts(conn, run)
                run = []
                await handler(conn, inbound)
        await self.store_facts(conn, run)
        await self.after_batch(conn, applied)

    async def store_fact(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """One message's facts (intent, value); regraded and revalued in `after_batch`."""
        await self.store_facts(conn, [inbound])

    async def store_facts(self, conn: asyncpg.Connection, inbounds: list[Inbound]) -> None:
        """The facts of these messages, stored for each customer's survivor: two statements."""
        if not inbounds:
            return
        survivors = await fact_store.survivors_of(conn, [i for inbound in inbounds for i in _customers(inbound)])
        await fact_store.record_many(conn, [f for inbound in inbounds for f in facts_of(inbound, survivors)])

    async def handle(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """One message as the consumer applies a message alone: its handler, then `after_batch`."""
        handler = self.handlers().get(inbound.envelope.event_type)
        if handler is not None:
            await handler(conn, inbound)
            await self.after_batch(conn, [inbound])

    async def after_batch(self, conn: asyncpg.Connection, applied: list[Inbound]) -> None:
        """Regrade and revalue each customer the batch touched once, whatever the number of its
        events: the grade and the value are functions of the stored facts, so the last state is the
        only one worth computing (and publishing). Customers in ascending id: the lock order."""
        regrade, revalue = await touched(conn, applied)
        if regrade:
            await grades.regrade_many(conn, regrade, self.policy)
        if revalue:
            await self.valuation.revalue_many(conn, revalue, self.today())

    async def on_consent(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """Kept (latest by business time); consent does not change a grade."""
        envelope, consent = inbound.envelope, inbound.payload
        owner = await fact_store.survivor_of(conn, envelope.customer_id)
        await conn.execute(
            """insert into customer_consent (customer_id, marketing_allowed, changed_at, event_id)
               values ($1, $2, $3, $4) on conflict (customer_id) do update
               set marketing_allowed = excluded.marketing_allowed, changed_at = excluded.changed_at,
                   event_id = excluded.event_id
               where (customer_consent.changed_at, customer_consent.event_id)
                     < (excluded.changed_at, excluded.event_id)""",
            owner, consent.marketing_allowed, envelope.occurred_at, envelope.event_id)  # type: ignore[attr-defined]

    async def on_erased(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """Erased (the right to be forgotten): the free text grading keeps about the person goes (an
        override's reason, a loss note kept before grading stopped keeping them); grades, their
        history and the value stay, as anonymous figures."""
        erased: CustomerErased = inbound.payload  # type: ignore[assignment]
        ids = [inbound.envelope.customer_id, *erased.merged_customer_ids]
        owner = await fact_store.survivor_of(conn, inbound.envelope.customer_id)
        await fact_store.lock_customer(conn, owner)
        await fact_store.erase_free_text(conn, list({owner, *ids}), ERASED_TEXT)

    async def on_merge(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """The merged customer's facts join the survivor's; both are regraded and revalued."""
        envelope, merge = inbound.envelope, inbound.payload
        survivor = await fact_store.survivor_of(conn, envelope.customer_id)
        merged = merge.merged_customer_id  # type: ignore[attr-defined]
        if merged == survivor:
            return
        await fact_store.move_to_survivor(conn, merged, survivor, envelope.occurred_at)
        for customer_id in (merged, survivor):
            await grades.regrade(conn, customer_id, self.policy, envelope)
            await self.valuation.revalue(conn, customer_id, self.today(), envelope)
        # whoever referred either record now gains from the deals of both (referrals name the merged id too)
        for referrer in await fact_store.referrers_of(conn, survivor):
            await self.valuation.revalue(conn, referrer, self.today(), envelope)


# What an event asks of grading once its facts are stored: a new grade, a new value, or both.
REGRADED_BY = frozenset({"contact-received", "followup-logged", "deal-closed", "complaint-filed", "prospect-lost"})
REVALUED_BY = frozenset({"contact-received", "deal-closed", "complaint-filed", "payment-recorded"})


async def touched(conn: asyncpg.Connection, applied: list[Inbound]
                  ) -> tuple[dict[uuid.UUID, Envelope], dict[uuid.UUID, Envelope]]:
    """The customers to regrade and to revalue after a batch, each with the last event that
    touched it (the causation of what is published). A deal also revalues the customer's
    referrers (推荐收益), a referral the referrer."""
    regrade: dict[uuid.UUID, Envelope] = {}
    revalue: dict[uuid.UUID, Envelope] = {}
    survivors = await fact_store.survivors_of(conn, [i for inbound in applied for i in _customers(inbound)])

    async def survivor(customer_id: uuid.UUID) -> uuid.UUID:
        return survivors[customer_id]

    for inbound in applied:
        envelope, kind = inbound.envelope, inbound.envelope.event_type
        owner = await survivor(envelope.customer_id)
        if kind in REGRADED_BY:
            regrade[owner] = envelope
        if kind in REVALUED_BY or (kind == "customer-updated" and card_fact(
                envelope.event_id, envelope.occurred_at, inbound.payload) is not None):  # type: ignore[arg-type]
            revalue[owner] = envelope
        if kind == "deal-closed":
            for referrer in await fact_store.referrers_of(conn, owner):
                revalue[referrer] = envelope
        referrer = getattr(inbound.payload, "referrer_customer_id", None) if kind == "contact-received" else None
        if referrer is not None:
            revalue[await survivor(referrer)] = envelope
    return regrade, revalue


# The events whose facts grading stores (and then regrades or revalues from).
FACT_TOPICS = ("contact-received", "followup-logged", "deal-closed", "complaint-filed", "prospect-lost",
               "payment-recorded", "customer-updated")


def _customers(inbound: Inbound) -> list[uuid.UUID]:
    """The ids a message's facts are stored for: its customer, and a contact's referrer."""
    referrer = getattr(inbound.payload, "referrer_customer_id", None)
    return [inbound.envelope.customer_id, *([referrer] if referrer else [])]


def facts_of(inbound: Inbound, survivors: dict[uuid.UUID, uuid.UUID]) -> list[fact_store.Fact]:
    """The facts one event gives grading, each for its customer's survivor: the intent fact (with the
    consultant); a contact's referral for the referrer (推荐), a deal's purchase, a payment (credit),
    a card update setting annual revenue or market share (size, share stability)."""
    envelope, payload = inbound.envelope, inbound.payload
    owner, kind = survivors[envelope.customer_id], envelope.event_type
    if kind == "payment-recorded":
        return [fact_store.Fact(owner, payment_fact(envelope.event_id, envelope.occurred_at, payload))]
    if kind == "customer-updated":
        card = card_fact(envelope.event_id, envelope.occurred_at, payload)
        return [] if card is None else [fact_store.Fact(owner, card)]
    facts = [fact_store.Fact(owner, fact_from_payload(envelope.event_id, envelope.occurred_at, payload),
                             getattr(payload, "consultant_id", None))]
    if kind == "contact-received" and payload.referrer_customer_id is not None:
        facts.append(fact_store.Fact(survivors[payload.referrer_customer_id], ReferralFact(
            fact_id=envelope.event_id, occurred_at=envelope.occurred_at, referred_customer_id=owner)))
    if kind == "deal-closed":
        facts.append(fact_store.Fact(owner, purchase_from_deal(envelope.event_id, envelope.occurred_at, payload)))
    return facts
