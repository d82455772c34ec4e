"""Follow-up's event handlers: contacts, grades, consent, complaints, merges and value become work.

Each runs inside the consumer's batch transaction (shared/runtime/consumer.py).
`now` is the service clock; business anchors (when the contact came in, when
the complaint was filed) come from the event's `occurred_at`.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import asyncpg

from shared.events import topics
from shared.events.contract import (
    ComplaintFiled,
    ConsentChanged,
    ContactReceived,
    CustomerErased,
    CustomerMerged,
    CustomerUpdated,
    CustomerValued,
    ProspectGraded,
)
from shared.runtime import vault as vaults
from shared.runtime.batching import applied_by_batch
from shared.runtime.consumer import Handler, Inbound
from shared.runtime.store import redact_plaintext

from . import batch_runs, complaint_store, merging, ownership, prospects, roster, task_store
from .cadence_work import reconcile
from .batch_runs import contact_fields, contact_work
from .domain import (
    FollowUpPolicy,
    cancellations_on_refusal,
    decline_recovery_task,
    file_complaint,
    owner_on_contact,
    owner_when_needed,
)
from .domain.tasks import TaskKind
from .prospects import ACTIVE

ERASED = "customer erased"


class FollowUpHandlers:
    def __init__(self, policy: FollowUpPolicy, now: Callable[[], datetime]) -> None:
        self.policy, self.now = policy, now

    def handlers(self) -> dict[str, Handler]:
        return {
            topics.CONTACT_RECEIVED: self.on_contact, topics.PROSPECT_GRADED: self.on_graded,
            topics.COMPLAINT_FILED: self.on_complaint, ConsentChanged.EVENT_TYPE: self.on_consent,
            CustomerMerged.EVENT_TYPE: merging.on_merged_handler(self.policy, self.now),
            CustomerValued.EVENT_TYPE: self.on_valued, CustomerUpdated.EVENT_TYPE: self.on_card_updated,
            CustomerErased.EVENT_TYPE: self.on_erased,
        }

    def consumer_spec(self) -> dict:
        """How the consumer applies follow-up's topics: each batch whole, in order, in `apply_batch`."""
        return applied_by_batch(self.handlers(), self.apply_batch)

    async def apply_batch(self, conn: asyncpg.Connection, applied: list[Inbound]) -> None:
        """A batch in its order: each run of contacts and of grades set-based (batch_runs), every
        other message by its handler, between them."""
        handlers, run = self.handlers(), []
        for inbound in applied:
            if run and inbound.envelope.event_type != run[0].envelope.event_type:
                await self._run(conn, run)
                run = []
            if inbound.envelope.event_type in (topics.CONTACT_RECEIVED, topics.PROSPECT_GRADED):
                run.append(inbound)
            else:
                await handlers[inbound.envelope.event_type](conn, inbound)
        await self._run(conn, run)

    async def _run(self, conn: asyncpg.Connection, run: list[Inbound]) -> None:
        if run and run[0].envelope.event_type == topics.CONTACT_RECEIVED:
            await batch_runs.apply_contacts(conn, run, self.policy, self.now(),
                                            lambda inbound: self.on_contact(conn, inbound))
        elif run:
            await batch_runs.apply_grades(conn, run, lambda inbound: self.on_graded(conn, inbound))

    async def on_contact(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """First contact after a contact (one task per contact id), for the customer's owner: a contact
        that names another consultant is theirs and tells the owner, it does not move the customer."""
        contact: ContactReceived = inbound.payload  # type: ignore[assignment]
        envelope, now = inbound.envelope, self.now()
        customer_id = await merging.survivor_of(conn, envelope.customer_id)
        p = await prospects.load(conn, customer_id)
        named = await ownership.active_member(conn, contact.consultant_id)
        p = await ownership.settle(conn, p, owner_on_contact(p.ownership, named, contact.is_new_customer), now,
                                   envelope)
        p = await prospects.update(conn, customer_id, **contact_fields(p, envelope.occurred_at, contact.historical))
        if p.status != ACTIVE:
            return  # an old contact delivered after the prospect was closed
        work = contact_work(contact, envelope, customer_id, p.owner_id or roster.UNASSIGNED, p.marketing_allowed,
                            now, self.policy)
        await task_store.schedule(conn, work, now, envelope)
        if p.grade is not None:  # a grade that came first: O starts delivery, a visit without first contact cadence
            ordered = p.grade.value == "O" and not await _ever_had(conn, customer_id, TaskKind.DELIVERY)
            await reconcile(conn, p, self.policy, now, previous_grade=None if ordered else p.grade,
                            cause_id=envelope.event_id, causation=envelope)

    async def on_graded(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """The cadence moves with the grade."""
        graded: ProspectGraded = inbound.payload  # type: ignore[assignment]
        envelope = inbound.envelope
        customer_id = await merging.survivor_of(conn, envelope.customer_id)
        p = await prospects.load(conn, customer_id)
        await reconcile(conn, await prospects.update(conn, customer_id, grade=graded.grade.value), self.policy,
                        self.now(), previous_grade=p.grade, cause_id=envelope.event_id, causation=envelope)

    async def on_consent(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """Refusal cancels marketing work at once; a later grant restarts the cadence."""
        consent: ConsentChanged = inbound.payload  # type: ignore[assignment]
        envelope, now = inbound.envelope, self.now()
        customer_id = await merging.survivor_of(conn, envelope.customer_id)
        p = await prospects.load(conn, customer_id)
        if p.consent_at is not None and envelope.occurred_at < p.consent_at:
            return  # an older change delivered late
        await prospects.update(conn, customer_id, marketing_allowed=consent.marketing_allowed,
                               consent_at=envelope.occurred_at)
        if not consent.marketing_allowed:
            pending = await task_store.of_customer(conn, customer_id)
            await task_store.record_changes(conn, cancellations_on_refusal(pending, now), now, envelope)
        elif not p.marketing_allowed:
            await reconcile(conn, await prospects.load(conn, customer_id), self.policy, now,
                            previous_grade=p.grade, cause_id=envelope.event_id, causation=envelope)

    async def on_complaint(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """A case with deadlines by severity, owned by the customer's owner; an unowned customer is given
        to the least loaded (until the contact that created it, if one is on its way, names somebody:
        the case then moves to them, see ownership.change_owner)."""
        filed: ComplaintFiled = inbound.payload  # type: ignore[assignment]
        envelope = inbound.envelope
        customer_id = await merging.survivor_of(conn, envelope.customer_id)
        p = await prospects.load(conn, customer_id)
        p = await ownership.settle(conn, p, owner_when_needed(p.ownership), self.now(), envelope)
        owner = p.owner_id or roster.UNASSIGNED
        description = filed.description if await _still_readable(inbound) else None
        case = file_complaint(complaint_id=filed.complaint_id, customer_id=customer_id, severity=filed.severity,
                              owner_id=owner, filed_at=envelope.occurred_at, policy=self.policy,
                              channel=filed.channel, description=description, category=filed.category)
        await complaint_store.file(conn, case, self.now(), envelope)

    async def on_valued(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """Decline recovery (衰退期挽回) when value grading reports the decline stage."""
        valued: CustomerValued = inbound.payload  # type: ignore[assignment]
        if not valued.in_decline:
            return
        envelope, now = inbound.envelope, self.now()
        customer_id = await merging.survivor_of(conn, envelope.customer_id)
        p = await prospects.load(conn, customer_id)
        p = await ownership.settle(conn, p, owner_when_needed(p.ownership), now, envelope)
        owner = p.owner_id or roster.UNASSIGNED
        pending = await task_store.of_customer(conn, customer_id)
        task = decline_recovery_task(customer_id=customer_id, owner_id=owner, detected_at=envelope.occurred_at,
                                     cause_id=envelope.event_id, now=now, policy=self.policy, existing=pending,
                                     marketing_allowed=p.marketing_allowed)
        if task is not None:
            await task_store.schedule(conn, [task], now, envelope)

    async def on_card_updated(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """The birthday on the customer card (车主生日) drives birthday care."""
        updated: CustomerUpdated = inbound.payload  # type: ignore[assignment]
        if "birthday" not in updated.card:
            return
        customer_id = await merging.survivor_of(conn, inbound.envelope.customer_id)
        await prospects.load(conn, customer_id)
        if not await _still_readable(inbound):
            return
        await prospects.update(conn, customer_id, birthday=_date_or_none(updated.card["birthday"]))

    async def on_erased(self, conn: asyncpg.Connection, inbound: Inbound) -> None:
        """Erased (the right to be forgotten): the personal copies kept here go — the birthday, the
        complaints' own words, and the free text written about the person: follow-up records'
        content, loss notes, complaint remedies and survey comments (their events carry them
        sealed, unreadable now) — and pending work is cancelled: with no name or phone left nobody
        can call them, and work left open would go overdue and escalate for ever. Marketing stays
        off. What was done (follow-up records without their words, deals, complaint handling and
        its figures) stays, as anonymous work of the consultants."""
        erased: CustomerErased = inbound.payload  # type: ignore[assignment]
        envelope, now = inbound.envelope, self.now()
        survivor = await merging.survivor_of(conn, envelope.customer_id)
        ids = list(dict.fromkeys([survivor, envelope.customer_id, *erased.merged_customer_ids]))
        await prospects.load(conn, survivor, create=False)  # the lock every handler takes first
        await conn.execute(
            """update prospects set birthday = null, marketing_allowed = false,
                      consent_at = greatest(consent_at, $2), updated_at = now()
               where customer_id = any($1)""", ids, envelope.occurred_at)
        await conn.execute(
            """update complaint_cases
               set data = data || '{"description": null, "remedy": null, "survey_comment": null}'::jsonb
               where customer_id = any($1) and (data->>'description' is not null
                     or data->>'remedy' is not null or data->>'survey_comment' is not null)""", ids)
        await conn.execute(
            """update tasks set data = jsonb_set(data, '{record,content}', 'null')
               where customer_id = any($1) and data->'record'->>'content' is not null""", ids)
        await conn.execute(
            """update loss_proposals set data = data || '{"note": null, "decision_note": null}'::jsonb
               where customer_id = any($1) and (data->>'note' is not null or data->>'decision_note' is not null)""",
            ids)
        await conn.execute("""update payments set note = null where note is not null
                              and deal_id in (select deal_id from deals where customer_id = any($1))""", ids)
        await redact_plaintext(conn, ids)  # follow-up's own events stored before their free text was sealed
        # stored answers to retried requests that echoed that free text replay as erased (as intake's do)
        paths = [f"/v1/prospects/{cid}/lost" for cid in ids]
        paths += [f"/v1/tasks/{r[0]}/complete"
                  for r in await conn.fetch("select task_id from tasks where customer_id = any($1)", ids)]
        paths += [f"/v1/complaints/{r[0]}/{step}" for r in await conn.fetch(
            "select complaint_id from complaint_cases where customer_id = any($1)", ids)
            for step in ("acknowledge", "resolve", "survey")]
        paths += [f"/v1/losses/{r[0]}/{step}" for r in await conn.fetch(
            "select proposal_id from loss_proposals where customer_id = any($1)", ids)
            for step in ("approve", "reject")]
        await conn.execute("""update idempotency_keys set response = '{"erased": true}'
                              where path = any($1::text[]) and response is not null""", paths)
        pending = [t for cid in ids for t in await task_store.of_customer(conn, cid)]
        await task_store.record_changes(conn, [t.cancel(ERASED, now) for t in pending], now, envelope)


async def _still_readable(inbound: Inbound) -> bool:
    """Is the customer's key still there? Checked after the prospect's row is locked: if the
    customer was erased while this (sealed) event was on its way, its personal data must not be
    kept; if not, the erasure's own handler waits for this lock and scrubs after."""
    envelope = inbound.envelope
    if envelope is None or not envelope.sealed:
        return True
    return await vaults.required().key_for(envelope.customer_id, create=False) is not None


def _date_or_none(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


async def _ever_had(conn: asyncpg.Connection, customer_id, kind: TaskKind) -> bool:
    return bool(await conn.fetchval("select true from tasks where customer_id = $1 and kind = $2 limit 1",
                                    customer_id, kind.value))
