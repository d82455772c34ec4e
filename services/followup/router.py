"""Follow-up HTTP surface."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from shared.auth import Principal, require
from shared.events.enums import Role

router = APIRouter(prefix="/v1", tags=["followup"])


@router.get("/tasks")
async def list_tasks(request: Request, owner_id: str | None = Query(default=None, max_length=200),
                     principal: Principal = Depends(require(Role.CONSULTANT, Role.MANAGER, Role.OPS))) -> dict:
    """Open work items; a consultant sees their own."""
    if principal.role is Role.CONSULTANT:
        owner_id = principal.consultant_id or principal.subject
    async with request.app.state.pool.acquire() as conn:
        rows = await conn.fetch(
            """select task_id, customer_id, kind, owner_id, status, due_at, grade from tasks
               where status = 'open' and ($1::text is null or owner_id = $1) order by due_at limit 500""",
            owner_id,
        )
    return {"tasks": [dict(r) for r in rows]}
