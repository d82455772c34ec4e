"""Deals (成交) and payments (回款) over HTTP: one at a time as they happen, or in batches of up to
1,000 when history is taken over from an earlier system (the use cases are in `deals`)."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request

from shared.access import Action
from shared.auth import Principal, require_action
from shared.runtime.commands import idempotency_key, run_command

from . import deal_batches, deals
from .access import policy_of
from .schemas import DealBatch, NewDeal, NewPayment, PaymentBatch

router = APIRouter(prefix="/v1", tags=["deals"])


@router.post("/deals", status_code=201)
async def record_deal(body: NewDeal, request: Request, key: str | None = Depends(idempotency_key),
                      principal: Principal = Depends(require_action(Action.RECORD_DEAL))):
    """Record a deal: `deal-closed` (dated on its close day), prospect work ends, delivery steps (unless
    delivered) and 新车3日DC. A consultant records their own deals; `consultant_id` must be an active
    consultant on the roster. An unowned customer becomes the deal's consultant's."""
    async def work(conn):
        recorded = await deals.record_deal(conn, principal, body, now=request.app.state.clock.now(),
                                           policy=policy_of(request))
        return 201, recorded.as_json()

    return await run_command(request, principal, key, work)


@router.post("/deals/batch", status_code=201)
async def record_deal_batch(body: DealBatch, request: Request, key: str | None = Depends(idempotency_key),
                            principal: Principal = Depends(require_action(Action.RECORD_DEAL))):
    """Record up to 1,000 deals at once, all or nothing: a refused batch names every broken rule
    with its row and field (`deals.3.gross_profit`) and records nothing. Deals closed before
    `historical_before` (default: now) are history: they set value, lifecycle and reports and create
    no delivery steps and no 3-day call (domain §8). The same rules as one deal apply to each row."""
    async def work(conn):
        now = request.app.state.clock.now()
        recorded = await deal_batches.record_deals(conn, principal, body.deals, historical_before=body.historical_before or now,
                                            now=now, policy=policy_of(request))
        return 201, {"deals": [r.as_json() for r in recorded], "recorded": len(recorded),
                     "historical": sum(r.historical for r in recorded)}

    return await run_command(request, principal, key, work)


@router.post("/deals/{deal_id}/payments", status_code=201)
async def record_payment(deal_id: uuid.UUID, body: NewPayment, request: Request,
                         key: str | None = Depends(idempotency_key),
                         principal: Principal = Depends(require_action(Action.RECORD_PAYMENT))):
    """Record a payment against a deal (回款): `payment-recorded` with the balance still owed."""
    async def work(conn):
        return 201, await deals.record_payment(conn, principal, deal_id, body, now=request.app.state.clock.now())

    return await run_command(request, principal, key, work)


@router.post("/payments/batch", status_code=201)
async def record_payment_batch(body: PaymentBatch, request: Request, key: str | None = Depends(idempotency_key),
                               principal: Principal = Depends(require_action(Action.RECORD_PAYMENT))):
    """Record up to 1,000 payments at once, all or nothing; a deal's payments apply in the order
    given. A refused batch names every broken rule with its row and field (`payments.2.amount`)."""
    async def work(conn):
        recorded = await deal_batches.record_payments(conn, principal, body.payments, now=request.app.state.clock.now())
        return 201, {"payments": recorded, "recorded": len(recorded)}

    return await run_command(request, principal, key, work)
