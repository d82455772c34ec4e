"""The periodic jobs against real PostgreSQL: run twice (a restart, a second replica) and nothing doubles."""
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from services.followup import task_store
from services.followup.domain import DEFAULT_POLICY, TaskKind, schedule_task
from services.followup.jobs import check_overdue, schedule_care


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.value = now

    def now(self) -> datetime:
        return self.value


def app_with(pool, now: datetime):
    return SimpleNamespace(state=SimpleNamespace(pool=pool, clock=FixedClock(now), followup_policy=DEFAULT_POLICY))


async def event_types(pool, customer_id) -> list[str]:
    rows = await pool.fetch("select event_type from event_store where customer_id = $1 order by recorded_at",
                            customer_id)
    return [r["event_type"] for r in rows]


async def test_overdue_check_marks_and_escalates_once(service_db):
    _, pool = await service_db("followup")
    now = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    customer = uuid.uuid4()
    late = schedule_task(customer_id=customer, kind=TaskKind.CADENCE, key="late", owner_id="c-1",
                         due_at=now - timedelta(days=2), now=now - timedelta(days=9), grade="A")
    soon = schedule_task(customer_id=customer, kind=TaskKind.CADENCE, key="soon", owner_id="c-1",
                         due_at=now - timedelta(hours=1), now=now - timedelta(days=9), grade="A")
    async with pool.acquire() as conn, conn.transaction():
        await task_store.schedule(conn, [late, soon], now)
    app = app_with(pool, now)
    for _ in range(3):
        await check_overdue(app)
    statuses = {r["task_id"]: (r["status"], r["escalated_at"] is not None)
                for r in await pool.fetch("select task_id, status, escalated_at from tasks")}
    assert statuses == {late.task_id: ("overdue", True), soon.task_id: ("overdue", False)}
    assert sorted(await event_types(pool, customer)) == sorted(
        ["task-scheduled", "task-scheduled", "task-closed", "task-closed", "task-escalated"])


async def test_care_schedules_anniversary_and_base_maintenance_once(service_db):
    _, pool = await service_db("followup")
    now = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    customer = uuid.uuid4()
    bought = date(2022, 3, 13)  # four years old: base customer; anniversary in three days
    await pool.execute("insert into prospects (customer_id, owner_id, status) values ($1, 'c-1', 'customer')",
                       customer)
    await pool.execute(
        """insert into deals (deal_id, customer_id, consultant_id, amount, gross_profit, deposit, closed_on, data,
                              recorded_at) values ($1, $2, 'c-1', 1, 1, 0, $3, $4::jsonb, $5)""",
        uuid.uuid4(), customer, bought, json.dumps({}), now)
    app = app_with(pool, now)
    await schedule_care(app)
    await schedule_care(app)
    kinds = sorted(r["kind"] for r in await pool.fetch("select kind from tasks where customer_id = $1", customer))
    assert kinds == ["anniversary_care", "base_maintenance"]
    await pool.execute("update prospects set marketing_allowed = false where customer_id = $1", customer)
    app.state.clock.value = now + timedelta(days=31)  # next month, but marketing is refused
    await schedule_care(app)
    assert await pool.fetchval("select count(*) from tasks where customer_id = $1", customer) == 2
