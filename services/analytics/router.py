"""Analytics HTTP surface."""
from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request

from shared.auth import Principal, require
from shared.errors import NotFound
from shared.events.enums import Role
from shared.events.envelope import Envelope

from .domain.customer360 import build_360

router = APIRouter(prefix="/v1", tags=["analytics"])


@router.get("/customers/{customer_id}/360")
async def customer_360(
    customer_id: uuid.UUID, request: Request,
    as_of: datetime | None = Query(default=None, description="answer for this past moment"),
    principal: Principal = Depends(require(Role.CONSULTANT, Role.MANAGER, Role.OPS, Role.INTEGRATION)),
) -> dict:
    """Everything about one customer at one glance, with history."""
    async with request.app.state.pool.acquire() as conn:
        rows = await conn.fetch("select envelope::text from event_log where customer_id = $1", customer_id)
    if not rows:
        raise NotFound(f"customer {customer_id} not found", field="customer_id", location="path")
    view = build_360((Envelope.model_validate_json(r[0]) for r in rows), as_of)
    return {"customer_id": customer_id, **view}
