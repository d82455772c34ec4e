"""Intake HTTP surface."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from shared.auth import Principal, require
from shared.events.enums import Role
from shared.runtime.commands import idempotency_key, run_command

from . import service
from .schemas import ContactAccepted, ContactIn, CustomerOut

router = APIRouter(prefix="/v1", tags=["intake"])
WRITERS = (Role.INTEGRATION, Role.CONSULTANT, Role.MANAGER)
READERS = (Role.INTEGRATION, Role.CONSULTANT, Role.MANAGER, Role.OPS)


@router.post("/contacts", status_code=201, response_model=ContactAccepted,
             responses={409: {"description": "concurrent change"}})
async def post_contact(
    contact: ContactIn, request: Request,
    principal: Principal = Depends(require(*WRITERS)),
    key: str | None = Depends(idempotency_key),
) -> JSONResponse:
    """Take in one contact from any channel; emits `contact-received`."""
    now = request.app.state.clock.now()

    async def work(conn):
        return 201, await service.receive_contact(conn, contact, now)

    return await run_command(request, principal, key, work)


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: uuid.UUID, request: Request,
                       principal: Principal = Depends(require(*READERS))) -> CustomerOut:
    async with request.app.state.pool.acquire() as conn:
        row = await service.get_customer(conn, customer_id)
    return CustomerOut(**dict(row))
