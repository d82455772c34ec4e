"""The ops dashboard (one HTML page) and the HTML customer 360, with their static files.

The pages themselves carry no data: their scripts fetch the JSON reports with
the bearer token pasted into the page or given as `?token=`. Chart.js 4.6.1
(MIT, static/chart.js.LICENSE.md) is served from here: no internet needed.
"""
from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent / "static"
MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".md": "text/markdown; charset=utf-8"}
SERVED = {p.name for p in STATIC.iterdir() if p.suffix in MEDIA}

router = APIRouter(tags=["dashboard"], include_in_schema=True)


@router.get("/dashboard", response_class=FileResponse)
async def dashboard() -> FileResponse:
    """The ops dashboard (运营看板): funnel, grades, daily activity, overdue work, complaints, pyramid, Pareto."""
    return FileResponse(STATIC / "dashboard.html", media_type=MEDIA[".html"])


@router.get("/dashboard/customers/{customer_id}", response_class=FileResponse)
async def customer_page(customer_id: uuid.UUID) -> FileResponse:
    """The customer 360 as a page (reads GET /v1/customers/{id}/360)."""
    return FileResponse(STATIC / "customer.html", media_type=MEDIA[".html"])


@router.get("/static/{name}", include_in_schema=False)
async def static_file(name: str) -> FileResponse:
    if name not in SERVED:
        raise HTTPException(404, detail="not found")
    path = STATIC / name
    return FileResponse(path, media_type=MEDIA[path.suffix], headers={"Cache-Control": "public, max-age=3600"})
