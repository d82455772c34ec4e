"""The one error shape of every service: RFC 9457 `application/problem+json`.

    {"type": "/problems/validation", "title": "Invalid input", "status": 422,
     "detail": "1 field is invalid: party_size.", "instance": "/v1/contacts",
     "request_id": "5f0c…", "errors": [{"field": "party_size", "message": "Input should be …"}]}

`type` is a relative URI, stable per kind of problem (`PROBLEMS`), that the service itself
answers with a short description. `errors` lists the fields at fault (shared.errors.field_path);
it is always there for a 422 and there for other statuses when the error names a field. No
problem ever carries a value the client sent: a rejected value may be somebody's name, and a
NaN or a lone surrogate cannot even be encoded as JSON.

`problem_response` renders every error (shared/app.py's handlers and middleware call it);
`document_problems` writes the statuses each operation can answer into the OpenAPI."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .errors import FieldError, field_path
from .request_context import current_request_id

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "/problems/"


@dataclass(frozen=True)
class ProblemKind:
    status: int
    title: str
    description: str


PROBLEMS: dict[str, ProblemKind] = {
    "validation": ProblemKind(422, "Invalid input", "A field breaks the schema or a business rule; `errors` names "
                              "each field and what is wrong with it. Nothing was changed."),
    "unauthorized": ProblemKind(401, "Not signed in", "No bearer token, or one this system did not issue, or one "
                                "that expired. Get a token (`crm token --role ROLE`) and send it as "
                                "`Authorization: Bearer …`."),
    "forbidden": ProblemKind(403, "Not allowed", "The caller's role, or its relation to this customer, does not "
                             "allow this. Nothing was changed."),
    "not-found": ProblemKind(404, "Not found", "The resource named in the path does not exist (or no route has "
                             "this path)."),
    "method-not-allowed": ProblemKind(405, "Method not allowed", "The path exists but not with this method; "
                                      "the `Allow` header lists the methods it has."),
    "conflict": ProblemKind(409, "Conflict", "The request conflicts with the current state: another writer changed "
                            "it first, the step was already taken, or an Idempotency-Key was reused for a different "
                            "request. Read the current state and decide again."),
    "payload-too-large": ProblemKind(413, "Request too large", "The body is larger than the service accepts "
                                     "(`CRM_MAX_BODY_BYTES`)."),
    "too-many-requests": ProblemKind(429, "Too many requests", "The caller asked too often; retry after the "
                                     "seconds in `Retry-After`."),
    "internal": ProblemKind(500, "Internal error", "A fault in the service. It is logged under the request id; "
                            "quote `request_id` when reporting it."),
    "unavailable": ProblemKind(503, "Temporarily unavailable", "A dependency (the database) is not answering. "
                               "Nothing was changed; retry after `Retry-After` seconds."),
}
_KIND_OF_STATUS = {kind.status: name for name, kind in PROBLEMS.items()}


def kind_of_status(status: int) -> str:
    return _KIND_OF_STATUS.get(status, f"http-{status}")


def title_of(kind: str, status: int) -> str:
    known = PROBLEMS.get(kind)
    if known is not None:
        return known.title
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class FieldProblem(BaseModel):
    field: str = Field(description="JSON path of the input at fault: `party_size`, `contacts[3].phone`, "
                                   "`query.to`, `path.customer_id`, `header.Idempotency-Key`; `body` for the "
                                   "body as a whole.", examples=["party_size"])
    message: str = Field(description="What is wrong with it (never the value sent).",
                         examples=["Input should be greater than or equal to 1"])


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    type: str = Field(description="Stable URI reference per kind of problem; GET it for a description.",
                      examples=["/problems/validation"])
    title: str = Field(description="Short summary of the kind of problem.", examples=["Invalid input"])
    status: int = Field(description="The HTTP status code.", examples=[422])
    detail: str = Field(description="What went wrong with this request, in a sentence.",
                        examples=["1 field is invalid: party_size."])
    instance: str = Field(description="The request path.", examples=["/v1/contacts"])
    request_id: str = Field(description="The request's id (also in the `X-Request-ID` header and every log line).",
                            examples=["4f1c2d3e4b5a69788796a5b4c3d2e1f0"])
    errors: list[FieldProblem] | None = Field(
        default=None, description="The fields at fault; always present for 422.")


def safe_text(value: object, limit: int) -> str:
    """Text that always encodes as JSON (a lone surrogate becomes U+FFFD), at most `limit` characters."""
    text = (value if isinstance(value, str) else str(value))[:limit]
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def schema_errors(errors: object) -> list[FieldError]:
    """FastAPI's / pydantic's error list as `{field, message}`: where and what, never the
    rejected input (FastAPI echoes it by default)."""
    out: list[FieldError] = []
    for err in errors if isinstance(errors, list | tuple) else ():
        err = err if isinstance(err, dict) else {}
        loc = [p if isinstance(p, int) and not isinstance(p, bool) else safe_text(p, 100)
               for p in err.get("loc", ())]
        if err.get("type") == "json_invalid":
            loc = loc[:1]  # pydantic puts the character position where a field would be
        out.append(FieldError(field=safe_text(field_path(loc), 300), message=safe_text(err.get("msg", "invalid"), 300)))
    return out


def _summary(kind: str, errors: list[FieldError]) -> str:
    if not errors:
        return PROBLEMS[kind].description if kind in PROBLEMS else "The request failed."
    fields = list(dict.fromkeys(e["field"] for e in errors))
    shown = ", ".join(fields[:10]) + (f" and {len(fields) - 10} more" if len(fields) > 10 else "")
    return f"{len(fields)} field{'s are' if len(fields) > 1 else ' is'} invalid: {shown}."


def problem_body(status: int, instance: str, *, kind: str | None = None, detail: str | None = None,
                 errors: Iterable[FieldError] = (), request_id: str | None = None) -> dict[str, Any]:
    kind = kind or kind_of_status(status)
    fields = list(errors)
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + kind, "title": title_of(kind, status), "status": status,
        "detail": safe_text(detail, 1000) if detail else _summary(kind, fields),
        "instance": safe_text(instance, 500), "request_id": request_id or current_request_id(),
    }
    if fields or status == 422:
        body["errors"] = fields
    return body


def problem_response(status: int, instance: str, *, kind: str | None = None, detail: str | None = None,
                     errors: Iterable[FieldError] = (), headers: Mapping[str, str] | None = None,
                     request_id: str | None = None) -> JSONResponse:
    """The response for every error any service answers."""
    body = problem_body(status, instance, kind=kind, detail=detail, errors=errors, request_id=request_id)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=MEDIA_TYPE)


# ------------------------------------------------------------------ OpenAPI

_HEADERS = {
    401: {"WWW-Authenticate": "`Bearer`: the scheme a token is expected in."},
    429: {"Retry-After": "Seconds until the next try is allowed."},
    503: {"Retry-After": "Seconds to wait before retrying."},
}
_WRITES = {"post", "put", "patch", "delete"}


def statuses_of(method: str, operation: dict) -> set[int]:
    """The error statuses an operation can answer, from what it is: any operation can meet an
    unavailable database (503); one with parameters or a body can get invalid input (422), one
    with a body a too large one (413); a secured one can get no token (401) or a role or
    relation that does not allow it (403); one naming a resource in its path can miss it (404);
    a write can conflict (409). A route adds others with `responses={status: {...}}`."""
    params = operation.get("parameters", [])
    statuses = {503}
    if params or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses.add(413)
    if operation.get("security"):
        statuses |= {401, 403}
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    if method in _WRITES:
        statuses.add(409)
    return statuses


def _document(operation: dict, method: str) -> None:
    responses = operation.setdefault("responses", {})
    declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    for status in sorted(statuses_of(method, operation) | declared):
        kind = kind_of_status(status)
        response = responses.setdefault(str(status), {})
        if not response.get("description") or response["description"] == "Validation Error":
            response["description"] = PROBLEMS[kind].description if kind in PROBLEMS else title_of(kind, status)
        response["content"] = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for name, description in _HEADERS.get(status, {}).items():
            response.setdefault("headers", {})[name] = {"description": description, "schema": {"type": "string"}}
    for response in responses.values():
        response.setdefault("headers", {})["X-Request-ID"] = {
            "description": "The request's id: the client's own if it sent a valid one, else a new one.",
            "schema": {"type": "string"}}


def document_problems(app: FastAPI) -> None:
    """Every operation of `app` lists the error statuses it can answer, each a `Problem`."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (Problem, FieldProblem):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            model_schema.pop("$defs", None)
            schemas[model.__name__] = model_schema
        for item in schema.get("paths", {}).values():
            for method, operation in item.items():
                if method in _WRITES | {"get", "head"} and isinstance(operation, dict):
                    if "operations" not in operation.get("tags", []):
                        _document(operation, method)
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
