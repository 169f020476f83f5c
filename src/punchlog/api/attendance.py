"""``GET /v1/attendance`` and ``GET /v1/punches``: read scope only."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from punchlog.api.context import context_of, principal_for
from punchlog.api.responses import json_response
from punchlog.services import attendance
from punchlog.services.tenants import get_tenant

router = APIRouter(tags=["attendance"])
_AUTH = {
    "parameters": [
        {"name": "X-API-Key", "in": "header", "required": True, "schema": {"type": "string"}}
    ]
}


@router.get("/v1/attendance", summary="Day records, paginated", openapi_extra=_AUTH)
def get_attendance(
    request: Request,
    from_: Annotated[date, Query(alias="from", description="First work date (YYYY-MM-DD)")],
    to: Annotated[date, Query(description="Last work date, at most 93 days after 'from'")],
    employee: Annotated[str | None, Query(max_length=64)] = None,
    page_number: Annotated[int, Query(alias="pageNumber", ge=1)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=500)] = 100,
) -> Response:
    principal = principal_for(request, "read")
    ctx = context_of(request)
    tenant = get_tenant(ctx.store, principal.tenant_slug)
    page = attendance.read_days(
        ctx.store,
        tenant,
        first=from_,
        last=to,
        employee=employee,
        page=page_number,
        page_size=page_size,
        now=ctx.clock(),
    )
    return json_response(page.to_wire())


@router.get("/v1/punches", summary="Every stored punch in arrival order", openapi_extra=_AUTH)
def get_punches(
    request: Request,
    since: Annotated[str | None, Query(max_length=64, description="A nextCursor")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Response:
    principal = principal_for(request, "read")
    ctx = context_of(request)
    return json_response(attendance.feed(ctx.store, principal.tenant_id, since=since, limit=limit))
