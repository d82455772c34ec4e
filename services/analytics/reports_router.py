"""Reports (JSON or CSV) and campaign costs."""
from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from shared.access import Action, Owner, check
from shared.auth import Principal, require, require_action
from shared.business_time import HappenedOn
from shared.errors import DomainValidationError
from shared.events.contract.types import Text
from shared.events.enums import Channel, Role
from shared.runtime import ownership
from shared.events.envelope import Envelope
from shared.runtime.commands import idempotency_key, run_command

from . import report_queries
from .customer_names import name_customers
from .domain.filters import Filters
from .domain.reports import TITLES, to_csv
from .paging import DEFAULT_LIMIT, MAX_LIMIT, page
from .projection import COST_EVENT, cost_customer_id, load_costs

router = APIRouter(prefix="/v1", tags=["reports"])
ReportName = Literal["funnel", "daily", "channels", "grades", "lost-reasons", "pyramid", "pareto", "lifecycle",
                     "complaints", "workload"]
assert set(ReportName.__args__) == set(TITLES)  # noqa: S101 - the catalogue and the route agree
REPORTER = require_action(Action.REPORT)  # one dependency: the filters and the report share the caller


async def report_filters(
    request: Request,
    date_from: date | None = Query(default=None, alias="from", description="first business day, inclusive"),
    date_to: date | None = Query(default=None, alias="to", description="last business day, inclusive"),
    consultant: str | None = Query(default=None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$"),
    channel: Channel | None = Query(default=None),
    campaign: str | None = Query(default=None, min_length=1, max_length=200),
    principal: Principal = Depends(REPORTER),
) -> Filters:
    """The filters, cut by the access policy to what the caller may report on: a consultant their
    own work, a team manager their team's consultants, operations and a head of sales everyone."""
    if date_from and date_to and date_from > date_to:
        raise DomainValidationError("from must not be after to", field="from", location="query")
    team = None
    async with request.app.state.pool.acquire() as conn:
        if principal.role is Role.CONSULTANT:
            consultant = consultant or (principal.consultant_id or principal.subject)
        if consultant is not None:
            owner = Owner(consultant, await ownership.team_of(conn, consultant))
            check(principal, Action.REPORT, await ownership.relation_to(conn, principal, owner), field="consultant",
                  location="query")
        elif principal.role is Role.MANAGER and principal.team is not None:
            team = frozenset(await ownership.team_members(conn, principal.team))
    return Filters(now=request.app.state.clock.now(), date_from=date_from, date_to=date_to, consultant=consultant,
                   team=team, channel=channel.value if channel else None, campaign=campaign)


@router.get("/reports/{name}", responses={200: {
    "description": "the report as JSON, or its rows as CSV (`format=csv` or `Accept: text/csv`)",
    "content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}}}})
async def report(
    request: Request, name: ReportName = Path(description="which report"),
    filters: Filters = Depends(report_filters),
    format: Literal["json", "csv"] | None = Query(default=None, description="csv for the table"),  # noqa: A002
    limit: int | None = Query(default=None, ge=1, le=MAX_LIMIT, description=(
        f"rows per page of the report's long list (daily rows, Pareto rows, lifecycle in_decline; default "
        f"{DEFAULT_LIMIT} in JSON, every row in CSV)")),
    cursor: str | None = Query(default=None, max_length=200, description="`next_cursor` of the page before"),
    accept: str | None = Header(default=None),
    principal: Principal = Depends(REPORTER),
) -> Response:
    """A report over the read model, filtered by period, consultant, channel and campaign. A report with
    a long row list answers a page of it with `next_cursor` and `has_more`. A row that lists a customer
    (Pareto, lifecycle's in_decline) carries their `customer_name`, masked unless the caller may see
    that customer's personal data."""
    wants_csv = format == "csv" or (format is None and accept is not None and "text/csv" in accept)
    rows = page(name, limit if limit or wants_csv else DEFAULT_LIMIT, cursor)
    async with _slots(request.app), request.app.state.pool.acquire() as conn:
        body, paging = await report_queries.run(conn, name, filters, rows)
        await name_customers(conn, principal, name, body, filters.now)
    if wants_csv:
        return Response(await asyncio.to_thread(to_csv, body), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return await asyncio.to_thread(JSONResponse, {**body, **(paging or {})})  # rendering a big answer: off the loop


REPORT_SLOTS = 3  # reports computed at once; more wait their turn


def _slots(app) -> asyncio.Semaphore:
    """Reports are CPU-bound in PostgreSQL: more of them at once than the machine has cores only
    slow each other down and starve this process, so that /health and the 360 wait behind them
    (30 reports at once on 2 cores: /health up to 0.4 s). A few at a time; the rest queue here."""
    if getattr(app.state, "report_slots", None) is None:
        app.state.report_slots = asyncio.Semaphore(REPORT_SLOTS)
    return app.state.report_slots


class CampaignCostIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"amount": "12000.00", "spent_on": "2026-05-01", "channel": "exhibition", "note": "spring motor show booth"}]})

    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    spent_on: HappenedOn
    channel: Channel | None = None
    note: Text | None = None


CampaignName = Path(min_length=1, max_length=200, description="campaign name as used on contacts")


@router.post("/campaigns/{campaign}/costs", status_code=201)
async def record_cost(
    request: Request, body: CampaignCostIn, campaign: str = CampaignName,
    key: str | None = Depends(idempotency_key),
    principal: Principal = Depends(require(Role.MANAGER, Role.OPS)),
) -> JSONResponse:
    """Record money spent on a campaign (for ROI against attributed gross profit). The same
    Idempotency-Key returns the first answer; reused for another body it is refused (422)."""
    now = request.app.state.clock.now()

    async def work(conn):
        event_id = uuid.uuid4()
        payload = {"campaign": campaign, "amount": str(body.amount), "spent_on": body.spent_on.isoformat(),
                   "channel": body.channel.value if body.channel else None, "note": body.note,
                   "recorded_by": principal.subject}
        env = Envelope(event_id=event_id, event_type=COST_EVENT, schema_version=1,
                       occurred_at=datetime.combine(body.spent_on, datetime.min.time(), tzinfo=now.tzinfo),
                       recorded_at=now, producer="analytics", customer_id=cost_customer_id(campaign),
                       payload=payload)
        await conn.execute(
            """insert into event_log (event_id, event_type, customer_id, occurred_at, envelope)
               values ($1, $2, $3, $4, $5::jsonb)""",
            env.event_id, env.event_type, env.customer_id, env.occurred_at, env.model_dump_json())
        return 201, {"cost_id": str(event_id), **payload}

    return await run_command(request, principal, key, work)


@router.get("/campaigns/{campaign}/costs")
async def list_costs(request: Request, campaign: str = CampaignName,
                     principal: Principal = Depends(require(Role.MANAGER, Role.OPS))) -> dict:
    async with request.app.state.pool.acquire() as conn:
        costs = [c for c in await load_costs(conn) if c["campaign"] == campaign]
    return {"campaign": campaign, "costs": costs,
            "total": str(sum((Decimal(c["amount"]) for c in costs), Decimal(0)))}
