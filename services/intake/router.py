"""Intake HTTP surface: contacts, the customer registry, consent, merges, complaints."""
from __future__ import annotations

import inspect
import uuid
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse

from shared.access import Action
from shared.auth import Principal, require, require_action
from shared.errors import DomainValidationError
from shared.events.asyncapi import asyncapi_document
from shared.events.enums import Role
from shared.paging import PageRequest, page_request
from shared.runtime.commands import idempotency_key, run_command
from shared.runtime.ownership import authorize

from . import complaints, contacts, customers, erasure, views
from .domain.contacts import channel_rules_markdown
from .domain.search import MAX_QUERY_LENGTH
from .schemas import (
    AuditTrail,
    ComplaintAccepted,
    ComplaintIn,
    ConsentIn,
    ConsentOut,
    ContactAccepted,
    ContactBatchIn,
    ContactBatchOut,
    ContactIn,
    CustomerList,
    CustomerOut,
    CustomerPage,
    ErasureOut,
    MergeCandidates,
    MergeIn,
    MergeOut,
)

router = APIRouter(prefix="/v1", tags=["intake"])
SEARCH_HELP = ("the beginning of a name (2+ characters), the last digits of a phone (4+), or a whole email "
               "address; see docs/api.md, \"Customer search\"")
ERRORS: dict[int | str, dict[str, Any]] = {409: {"description": "concurrent change or conflicting record"}}


def _actor(principal: Principal) -> contacts.Actor:
    return contacts.Actor(subject=f"{principal.role.value}:{principal.subject}")


def _with_channel_rules(endpoint):
    """The operation's description ends with the channel rules (applied before the route reads it)."""
    endpoint.__doc__ = f"{inspect.cleandoc(endpoint.__doc__ or '')}\n\n{channel_rules_markdown()}"
    return endpoint


@router.post("/contacts", status_code=201, response_model=ContactAccepted, responses=ERRORS)
@_with_channel_rules
async def post_contact(contact: ContactIn, request: Request,
                       principal: Principal = Depends(require_action(Action.RECORD_CONTACT)),
                       key: str | None = Depends(idempotency_key)) -> JSONResponse:
    """Take in one contact from any channel; a known phone or email attaches it to that
    customer. Emits `contact-received`. `consultant_id` must be an active consultant on the roster;
    a consultant's own contacts name them. A contact naming another consultant than the
    customer's owner is that consultant's contact: the owner is told, the customer does not move."""
    now = request.app.state.clock.now()
    contact = contacts.as_recorded_by(principal, contact)

    async def work(conn):
        return 201, await contacts.receive_contact(conn, contact, now, _actor(principal))

    return await run_command(request, principal, key, work)


@router.post("/contacts/batch", status_code=201, response_model=ContactBatchOut, responses=ERRORS)
@_with_channel_rules
async def post_contact_batch(batch: ContactBatchIn, request: Request,
                             principal: Principal = Depends(require_action(Action.RECORD_CONTACT)),
                             key: str | None = Depends(idempotency_key)) -> JSONResponse:
    """Up to 1,000 contacts, **all or nothing**: if any row is invalid the answer is 422
    naming every bad row as `contacts[N].field` and nothing is stored. Rows carrying
    `import_batch` and `source_row` are taken in once: a re-sent row is reported as
    `duplicate` and creates nothing."""
    now = request.app.state.clock.now()
    rows = contacts.rows_recorded_by(principal, batch.contacts)

    async def work(conn):
        results = await contacts.receive_batch(conn, rows, now, _actor(principal), batch.historical_before)
        fresh = [r for r in results if not r.duplicate]
        return 201, ContactBatchOut(accepted=len(fresh), new_customers=sum(r.is_new_customer for r in fresh),
                                    duplicates=len(results) - len(fresh), results=results)

    return await run_command(request, principal, key, work)


@router.get("/customers", response_model=CustomerPage | CustomerList, responses={429: {}})
async def find_customers(request: Request,
                         q: str | None = Query(default=None, max_length=MAX_QUERY_LENGTH, description=SEARCH_HELP),
                         phone: str | None = Query(default=None, max_length=40),
                         email: str | None = Query(default=None, max_length=254),
                         page: PageRequest = Depends(page_request),
                         principal: Principal = Depends(require_action(Action.LOOK_UP))) -> CustomerPage | CustomerList:
    """**Search** with `q` (the beginning of a name, the last 4+ digits of a phone, or an email): a page
    of customer summaries, paged with `limit` and `cursor`. **Look up** with `phone` and/or `email` (any
    spelling): the customer(s) owning them, whole records (at most two, never paged). Either way personal
    data is masked unless the caller may see it, every search and lookup is audited, and a person gets at
    most `CRM_LOOKUP_LIMIT_PER_MINUTE` of them a minute (429 with Retry-After beyond)."""
    limit = request.app.state.settings.lookup_limit_per_minute
    now = request.app.state.clock.now()
    if q is not None and (phone is not None or email is not None):
        raise DomainValidationError("search with q, or look up with phone/email, not both", field="q",
                                    location="query")
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        if q is not None:
            return await views.search_customers(conn, q, page, principal, now, limit)
        found = await views.find_customers(conn, phone, email, principal, now, limit)
    return CustomerList(customers=found)


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: uuid.UUID, request: Request,
                       principal: Principal = Depends(require_action(Action.READ))) -> CustomerOut:
    """The customer record with its card, history, contacts and complaints; personal data
    masked unless the caller may see it (a full read by a person is audited)."""
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        return await views.customer_view(conn, customer_id, principal, request.app.state.clock.now())


@router.get("/customers/{customer_id}/audit", response_model=AuditTrail)
async def get_audit_trail(customer_id: uuid.UUID, request: Request, page: PageRequest = Depends(page_request),
                          principal: Principal = Depends(require(Role.MANAGER))) -> AuditTrail:
    """Who read this customer's full (unmasked) record, and who found them by phone, email or a search,
    and when, latest first: `limit` rows of each trail per page, one `cursor` for both."""
    async with request.app.state.pool.acquire() as conn:
        return await views.audit_page(conn, customer_id, page)


@router.get("/merge-candidates", response_model=MergeCandidates)
async def get_merge_candidates(request: Request, page: PageRequest = Depends(page_request),
                               principal: Principal = Depends(require(Role.MANAGER))) -> MergeCandidates:
    """Pairs of records that look like one person, for a manager to merge (or not), oldest first."""
    async with request.app.state.pool.acquire() as conn:
        return await views.candidates_page(conn, page)


@router.patch("/customers/{customer_id}", responses=ERRORS)
async def patch_customer_card(customer_id: uuid.UUID, request: Request,
                              card: dict[str, Any] = Body(..., examples=[{"occupation": "teacher"}]),
                              principal: Principal = Depends(require_action(Action.CHANGE_CARD)),
                              key: str | None = Depends(idempotency_key)) -> JSONResponse:
    """Change fields of the customer information card (fields of `CustomerCard`); each
    change is kept in the history. Only who may see the customer's personal data may change it."""
    now = request.app.state.clock.now()

    async def work(conn):
        await authorize(conn, principal, Action.CHANGE_CARD, await customers.live_or_404(conn, customer_id))
        changes = await customers.update_card(conn, customer_id, card, now, _actor(principal))
        return 200, {"customer_id": customer_id, "changes": changes}

    return await run_command(request, principal, key, work)


@router.put("/customers/{customer_id}/consent", response_model=ConsentOut, responses=ERRORS)
async def put_consent(customer_id: uuid.UUID, body: ConsentIn, request: Request,
                      principal: Principal = Depends(require_action(Action.CHANGE_CONSENT)),
                      key: str | None = Depends(idempotency_key)) -> JSONResponse:
    """Record the customer's permission or refusal of marketing; emits `consent-changed`
    when the decision is the latest (by `occurred_at`)."""
    now = request.app.state.clock.now()

    async def work(conn):
        await authorize(conn, principal, Action.CHANGE_CONSENT, await customers.live_or_404(conn, customer_id))
        return 200, await customers.change_consent(conn, customer_id, body, now, _actor(principal))

    return await run_command(request, principal, key, work)


@router.post("/customers/{customer_id}/merge", response_model=MergeOut, responses=ERRORS)
async def merge_customers(customer_id: uuid.UUID, body: MergeIn, request: Request,
                          principal: Principal = Depends(require_action(Action.MERGE)),
                          key: str | None = Depends(idempotency_key)) -> JSONResponse:
    """Join `merged_customer_id` into this customer: keys, contacts, history and consent
    follow; both histories are kept. Emits `customer-merged`. Both must be within the
    manager's reach."""
    now = request.app.state.clock.now()

    async def work(conn):
        await authorize(conn, principal, Action.MERGE, await customers.live_or_404(conn, customer_id))
        merged = await customers.live_or_404(conn, body.merged_customer_id, field="merged_customer_id",
                                             location="body")
        await authorize(conn, principal, Action.MERGE, merged, field="merged_customer_id", location="body")
        return 200, await customers.merge(conn, customer_id, body.merged_customer_id, now, _actor(principal))

    return await run_command(request, principal, key, work)


@router.post("/complaints", status_code=201, response_model=ComplaintAccepted, responses=ERRORS)
async def post_complaint(complaint: ComplaintIn, request: Request,
                         principal: Principal = Depends(require_action(Action.FILE_COMPLAINT)),
                         key: str | None = Depends(idempotency_key)) -> JSONResponse:
    """File a complaint from any channel for a known customer or one found by phone/email;
    emits `complaint-filed`."""
    now = request.app.state.clock.now()

    async def work(conn):
        return 201, await complaints.file_complaint(conn, complaint, now, _actor(principal))

    return await run_command(request, principal, key, work)


@router.post("/customers/{customer_id}/erase", response_model=ErasureOut, responses=ERRORS)
async def erase_customer(customer_id: uuid.UUID, request: Request,
                         principal: Principal = Depends(require_action(Action.ERASE)),
                         key: str | None = Depends(idempotency_key)) -> JSONResponse:
    """Erase the customer — and every customer merged into them — for good (the right to be
    forgotten): their keys are destroyed, so the personal fields of all their events, wherever
    they are stored, can no longer be read; intake's copies are scrubbed. Ids, dates, grades,
    deals, amounts and complaint figures stay. Emits `customer-erased`; erasing again changes
    nothing (`changed: false`)."""
    now = request.app.state.clock.now()

    async def work(conn):
        await authorize(conn, principal, Action.ERASE, await customers.live_or_404(conn, customer_id))
        return 200, await erasure.erase(conn, customer_id, now, _actor(principal), request.app.state.vault)

    return await run_command(request, principal, key, work)


contract = APIRouter(tags=["contract"])


@contract.get("/asyncapi.json")
async def get_asyncapi() -> JSONResponse:
    """The event contract as an AsyncAPI 3.0 document: every topic (the raw call-center feed intake takes
    in included), its key, headers, payload schemas and an example message. Open, like `/openapi.json`;
    the same document is docs/events/asyncapi.json (`crm schema`)."""
    return JSONResponse(asyncapi_document())
