"""Grading HTTP surface."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request

from shared.auth import Principal, require
from shared.errors import NotFound
from shared.events.enums import Role

router = APIRouter(prefix="/v1", tags=["grading"])
READERS = (Role.INTEGRATION, Role.CONSULTANT, Role.MANAGER, Role.OPS)


@router.get("/prospects/{customer_id}/grade")
async def get_grade(customer_id: uuid.UUID, request: Request,
                    principal: Principal = Depends(require(*READERS))) -> dict:
    """The prospect's current intent grade and every change with its cause."""
    async with request.app.state.pool.acquire() as conn:
        row = await conn.fetchrow("select * from prospects where customer_id = $1", customer_id)
        if row is None:
            raise NotFound(f"prospect {customer_id} not found", field="customer_id", location="path")
        history = await conn.fetch(
            "select * from grade_history where customer_id = $1 order by seq", customer_id)
    return {"customer_id": customer_id, "grade": row["grade"], "rule": row["rule"],
            "policy_version": row["policy_version"], "history": [dict(h) for h in history]}
