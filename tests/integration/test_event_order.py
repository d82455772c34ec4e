"""One customer's events, delivered in every order across topics, leave grading, follow-up and the
360 in the same state (architecture.md: every consumer reaches the same state whatever the
interleaving; the owner and the grade history included).

What the producers outside the test send (intake's contact, complaint and consent, follow-up's
deal) arrives at grading in every order; what grading publishes reaches follow-up right after
the input that caused it; everything reaches analytics' fold. Each order runs on fresh copies
of migrated databases (PostgreSQL templates), so nothing of one order leaks into another.
"""
from __future__ import annotations

import itertools
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from services.analytics.domain.customer360 import build_360
from services.followup.domain import DEFAULT_POLICY as FOLLOWUP_POLICY
from services.followup.handlers import FollowUpHandlers
from services.grading.domain import DEFAULT_POLICY as GRADING_POLICY
from services.grading.handlers import GradingHandlers
from services.grading.values import Valuation
from shared.events.contract import ComplaintFiled, ConsentChanged, ContactReceived, DealClosed, DealItem
from shared.events.envelope import Envelope, new_event
from shared.events.registry import decode
from shared.runtime.consumer import Inbound
from shared.runtime.db import database_url_for, ensure_database, migrate

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=2)
CUSTOMER = uuid.UUID("00000000-0000-4000-8000-00000000c0de")
NAMED, OTHER = "c-order-named", "c-order-a-other"  # the least loaded (by id) is OTHER


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(CUSTOMER, name)


def inputs() -> dict[str, Envelope]:
    """One event per topic: the order of these is what the test varies."""
    def event(payload, at: datetime, name: str, producer: str) -> Envelope:
        return new_event(payload, customer_id=CUSTOMER, producer=producer, occurred_at=at, event_id=_id(name),
                         now=at)

    return {
        "contact": event(ContactReceived(contact_id=_id("contact-1"), channel="walk_in", consultant_id=NAMED,
                                         purchase_timeframe="within_1_month"), T0, "contact", "intake"),
        "complaint": event(ComplaintFiled(complaint_id=_id("complaint-1"), channel="phone", severity="medium",
                                          description="waited an hour"), T0 + timedelta(hours=2), "complaint",
                           "intake"),
        "consent": event(ConsentChanged(marketing_allowed=False, source="phone"), T0 + timedelta(hours=3), "consent",
                         "intake"),
        "deal": event(DealClosed(deal_id=_id("deal-1"), consultant_id=NAMED, amount=Decimal(150000),
                                 gross_profit=Decimal(12000), closed_on=date(2026, 3, 3),
                                 items=[DealItem(product="SUV", quantity=1, unit_price=Decimal(150000))]),
                      T0 + timedelta(days=1), "deal", "followup"),
    }


class Templates:
    """A migrated database per service, copied for each order (`create database ... template`)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url, self.made = admin_url, []

    async def template(self, service: str) -> str:
        name = f"tmpl_{service}_{uuid.uuid4().hex[:8]}"
        await ensure_database(self.admin_url, name)
        url = database_url_for(self.admin_url, name)
        await migrate(url, service)
        if service == "followup":  # the roster: both consultants active
            conn = await asyncpg.connect(url)
            await conn.executemany("insert into consultant_teams (consultant_id, team, active, changed_at) "
                                   "values ($1, 'order', true, now())", [(NAMED,), (OTHER,)])
            await conn.close()
        self.made.append(name)
        return name

    async def copy(self, template: str) -> asyncpg.Connection:
        name = f"{template}_c{uuid.uuid4().hex[:6]}"
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'create database "{name}" template "{template}"')
        finally:
            await admin.close()
        self.made.append(name)
        return await asyncpg.connect(database_url_for(self.admin_url, name))


async def _outbox_since(conn: asyncpg.Connection, position: int) -> tuple[list[Envelope], int]:
    rows = await conn.fetch("select position, envelope::text as e from event_store where position > $1 "
                            "order by position", position)
    return [Envelope.model_validate_json(r["e"]) for r in rows], (rows[-1]["position"] if rows else position)


def _inbound(envelope: Envelope) -> Inbound:
    return Inbound(envelope.event_id, envelope.customer_id, envelope, decode(envelope))


async def _apply(conn: asyncpg.Connection, handlers: dict, envelope: Envelope) -> None:
    handler = handlers.get(envelope.event_type)
    if handler is not None:
        async with conn.transaction():
            await handler(conn, _inbound(envelope))


async def run_order(templates: Templates, names: dict[str, str], order: tuple[str, ...]) -> dict:
    events = inputs()
    grading_db, followup_db = await templates.copy(names["grading"]), await templates.copy(names["followup"])
    try:
        grading_handlers = GradingHandlers(GRADING_POLICY, Valuation(GRADING_POLICY), lambda: NOW.date())
        grading = dict.fromkeys(grading_handlers.handlers(), grading_handlers.handle)  # handler + after_batch
        ticks = itertools.count()  # follow-up's clock moves on with every message, as a real one does
        followup = FollowUpHandlers(FOLLOWUP_POLICY, lambda: NOW + timedelta(milliseconds=next(ticks))).handlers()
        delivered, g_seen, f_seen = [], 0, 0
        for name in order:
            await _apply(grading_db, grading, events[name])
            graded, g_seen = await _outbox_since(grading_db, g_seen)
            for envelope in (events[name], *graded):  # grading's news reaches follow-up after its cause
                await _apply(followup_db, followup, envelope)
            worked, f_seen = await _outbox_since(followup_db, f_seen)
            delivered += [events[name], *graded, *worked]
        return _to_the_minute({"grading": await _grading_state(grading_db),
                               "followup": await _followup_state(followup_db), "360": _view(delivered)})
    finally:
        await grading_db.close()
        await followup_db.close()


async def _grading_state(conn: asyncpg.Connection) -> dict:
    prospect = await conn.fetchrow("select grade, status, rule from prospects where customer_id = $1", CUSTOMER)
    history = await conn.fetch("select grade, previous_grade, rule, changed_at from grade_history "
                               "where customer_id = $1 order by seq", CUSTOMER)
    value = json.loads(await conn.fetchval("select value::text from customer_values where customer_id = $1",
                                           CUSTOMER) or "{}")
    value.pop("cause_event_id", None)
    return {"prospect": dict(prospect) if prospect else None, "history": [tuple(h) for h in history],
            "value": value}


async def _followup_state(conn: asyncpg.Connection) -> dict:
    prospect = await conn.fetchrow("select owner_id, owner_basis, grade, status, contacted, marketing_allowed "
                                   "from prospects where customer_id = $1", CUSTOMER)
    tasks = await conn.fetch("select kind, owner_id, status, due_at from tasks where customer_id = $1 "
                             "order by kind, due_at, status", CUSTOMER)
    cases = await conn.fetch("select complaint_id, owner_id, status from complaint_cases where customer_id = $1",
                             CUSTOMER)
    return {"prospect": dict(prospect), "tasks": [tuple(t) for t in tasks], "cases": [tuple(c) for c in cases],
            "owner": await conn.fetchval("select owner_id from customer_owners where customer_id = $1", CUSTOMER)}


def _view(events: list[Envelope]) -> dict:
    """The 360, without what only counts the messages (how many were published on the way)."""
    view = build_360(str(CUSTOMER), events)
    view.pop("event_count")
    for part in ("open_tasks", "past_tasks"):  # a task's id derives from when its work was planned
        view[part] = sorted(({k: v for k, v in t.items() if k not in ("task_id", "scheduled_at")}
                             for t in view[part]), key=lambda t: (t["kind"], str(t["due_at"]), t["status"]))
    for entry in view["grade_history"]:
        entry.pop("cause_event_id", None)
    view["value"].pop("cause_event_id", None)
    view["value"].pop("at", None)
    return view


@pytest.fixture
async def templates(postgres):
    t = Templates(postgres.admin_url)
    names = {service: await t.template(service) for service in ("grading", "followup")}
    yield t, names
    admin = await asyncpg.connect(postgres.admin_url)
    try:
        for name in reversed(t.made):
            await admin.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await admin.close()


async def test_every_order_across_topics_gives_the_same_state_everywhere(templates, reliability):
    t, names = templates
    orders = list(itertools.permutations(inputs()))
    reference = await run_order(t, names, orders[0])
    assert reference["followup"]["owner"] == NAMED and reference["followup"]["prospect"]["owner_id"] == NAMED
    assert [case[1] for case in reference["followup"]["cases"]] == [NAMED]  # the complaint went to the owner
    assert [h[0] for h in reference["grading"]["history"]][:1] == ["A"]
    differences = []
    for order in orders[1:]:
        state = await run_order(t, names, order)
        for part in ("grading", "followup", "360"):
            if state[part] != reference[part]:
                differences.append((order, part, _first_difference(reference[part], state[part])))
    assert not differences, "\n".join(map(str, differences[:6]))
    reliability.record("one customer's contact, complaint, consent and deal in every order across topics",
                       len(orders), "the same grading, follow-up and 360 state every time")


ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d):\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?$")


def _to_the_minute(value):
    """Times to the minute: work scheduled "now" is due some milliseconds apart depending on when each
    message was processed; that is not a difference in the state."""
    if isinstance(value, datetime):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, str) and (match := ISO.match(value)):
        return match.group(1)
    if isinstance(value, dict):
        return {k: _to_the_minute(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_the_minute(v) for v in value)
    return value


def _first_difference(a, b, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {a!r} != {b!r}"
