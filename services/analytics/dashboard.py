"""The ops dashboard (one HTML page), the HTML customer 360, their sign-in and their static files.

No token ever travels in a URL. A person signs in once (POST /dashboard/sign-in with the bearer
token `crm token` prints); the token is checked by shared.auth, the one verification, and kept
in an HttpOnly, SameSite=Strict cookie whose path is /dashboard: the page scripts cannot read it
and a browser sends it only to the dashboard's own paths. The pages read the reports and the 360
from /dashboard/api/..., the very /v1 operations (same access policy, same masking) authenticated
by that cookie (shared.auth.session_token says when it counts). A `?token=` in a dashboard URL is
refused: the browser is sent to the sign-in page, without the token, and nothing is signed in.

Every page carries a Content-Security-Policy (scripts and styles from this service only, no
inline script, no framing), Referrer-Policy: no-referrer and X-Content-Type-Options: nosniff.
Chart.js 4.6.1 (MIT, static/chart.js.LICENSE.md) is served from here: no internet needed.
"""
from __future__ import annotations

import html
import uuid
from pathlib import Path
from urllib.parse import parse_qs

import jwt
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from shared.access import Action, roles_for
from shared.auth import SESSION_COOKIE, SESSION_PATH, SESSION_READS, Principal, decode_token

from .domain.vocabulary import labels_document
from .reports_router import report
from .router import customer_360

STATIC = Path(__file__).resolve().parent / "static"
MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".md": "text/markdown; charset=utf-8"}
SERVED = {p.name for p in STATIC.iterdir() if p.suffix in MEDIA and p.name != "sign-in.html"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
SIGN_IN = f"{SESSION_PATH}/sign-in"
MAX_TOKEN = 4096  # a bearer token is a few hundred characters; a form body beyond this is not one
NOTES = {  # the sign-in page's one line, chosen by `?note=` (never text taken from the request)
    "signed-out": "已退出。 Signed out.",
    "token-in-link": "链接中的令牌不再有效，请在此粘贴令牌登录。 Tokens in links are no longer accepted: paste it here.",
    "expired": "请登录（会话已过期或尚未登录）。 Please sign in (no session, or it has expired).",
    "invalid": "令牌无效或已过期。 The token is invalid or has expired.",
    "role": "此角色不能查看报表。 This role may not view reports.",
    "cross-site": "请从本站的登录页登录。 Sign in from this site's own sign-in page.",
}

router = APIRouter(tags=["dashboard"], include_in_schema=False)  # pages for a browser, not API operations
# The dashboard's reads: the /v1 report and 360 operations themselves, under the cookie's path.
router.add_api_route(f"{SESSION_READS}reports/{{name}}", report, methods=["GET"])
router.add_api_route(f"{SESSION_READS}customers/{{customer_id}}/360", customer_360, methods=["GET"])


def page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type=MEDIA[".html"], headers=PAGE_HEADERS)


def to_sign_in(note: str) -> RedirectResponse:
    return RedirectResponse(f"{SIGN_IN}?note={note}", status_code=303, headers=PAGE_HEADERS)


def session_principal(request: Request) -> Principal | None:
    """Who the session cookie signs in (None: no cookie, or one shared.auth does not accept)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return decode_token(request.app.state.settings.auth_secret.get_secret_value(), token)
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def signed_in_page(request: Request, name: str) -> Response:
    if "token" in request.query_params:  # an old link: not accepted, and the browser drops it
        return to_sign_in("token-in-link")
    if session_principal(request) is None:
        return to_sign_in("expired")
    return page(name)


@router.get("/dashboard")
async def dashboard(request: Request) -> Response:
    """The ops dashboard (运营看板): funnel, grades, daily activity, overdue work, complaints, pyramid, Pareto."""
    return signed_in_page(request, "dashboard.html")


@router.get("/dashboard/customers/{customer_id}")
async def customer_page(customer_id: uuid.UUID, request: Request) -> Response:
    """The customer 360 as a page (reads GET /dashboard/api/customers/{id}/360)."""
    return signed_in_page(request, "customer.html")


@router.get(SIGN_IN)
async def sign_in_page(request: Request, note: str | None = None) -> Response:
    return sign_in_form(NOTES.get(note or ""))


def sign_in_form(note: str | None, status_code: int = 200) -> HTMLResponse:
    text = (STATIC / "sign-in.html").read_text(encoding="utf-8")
    return HTMLResponse(text.replace("{{note}}", html.escape(note or "")), status_code=status_code,
                        headers=PAGE_HEADERS)


def same_origin(request: Request) -> bool:
    """A browser names where a request comes from; a form posted by another site's page (even one
    on this host's other ports) is refused. No header: not a browser (curl and the like)."""
    return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"


@router.post(SIGN_IN)
async def sign_in(request: Request) -> Response:
    """Check the pasted token (shared.auth) and keep it in the session cookie; then the dashboard."""
    if not same_origin(request):
        return sign_in_form(NOTES["cross-site"], 403)
    body = await request.body()
    token = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4).get("token", [""])[0].strip() \
        if len(body) <= MAX_TOKEN else ""
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    try:
        principal = decode_token(request.app.state.settings.auth_secret.get_secret_value(), token)
    except (jwt.PyJWTError, ValueError, TypeError):
        return sign_in_form(NOTES["invalid"], 401)
    if principal.role not in roles_for(Action.REPORT):  # the access policy: who may read reports at all
        return sign_in_form(NOTES["role"], 403)
    answer = RedirectResponse(SESSION_PATH, status_code=303, headers=PAGE_HEADERS)
    # No Max-Age: the cookie ends with the browser session; the token's own expiry ends it sooner.
    answer.set_cookie(SESSION_COOKIE, token, path=SESSION_PATH, httponly=True, samesite="strict",
                      secure=request.url.scheme == "https")
    return answer


@router.post(f"{SESSION_PATH}/sign-out")
async def sign_out(request: Request) -> Response:
    """Forget the session cookie (the token itself stays valid until it expires: it is a bearer token)."""
    if not same_origin(request):
        return sign_in_form(NOTES["cross-site"], 403)
    answer = to_sign_in("signed-out")
    answer.delete_cookie(SESSION_COOKIE, path=SESSION_PATH, httponly=True, samesite="strict",
                         secure=request.url.scheme == "https")
    return answer


@router.get(f"{SESSION_PATH}/labels.json")
async def labels() -> JSONResponse:
    """Every code's zh/en label (domain.vocabulary.LABELS): the pages show labels, not codes."""
    return JSONResponse(labels_document(), headers={"Cache-Control": "public, max-age=3600",
                                                    "X-Content-Type-Options": "nosniff"})


@router.get("/static/{name}")
async def static_file(name: str) -> FileResponse:
    if name not in SERVED:
        raise HTTPException(404, detail="not found")
    path = STATIC / name
    return FileResponse(path, media_type=MEDIA[path.suffix], headers={
        "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
