"""The tenant admin API (``admin`` scope): devices, employees and keys of the key's tenant."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from punchlog.api.context import context_of, principal_for
from punchlog.api.responses import success
from punchlog.api.schemas import (
    DeviceIn,
    DeviceOut,
    EmployeeIn,
    EmployeeOut,
    Envelope,
    IssuedKeyOut,
    KeyIn,
    KeyOut,
    UpsertOut,
)
from punchlog.errors import InvalidInput
from punchlog.services import devices, employees, keys

router = APIRouter(prefix="/v1/admin", tags=["admin"])
_AUTH: dict[str, Any] = {
    "parameters": [
        {"name": "X-API-Key", "in": "header", "required": True, "schema": {"type": "string"}}
    ]
}
MAX_UPSERT = 10_000


def _tenant(request: Request) -> tuple[str, int]:
    principal = principal_for(request, "admin")
    return principal.tenant_slug, principal.tenant_id


@router.get("/devices", response_model=Envelope[list[DeviceOut]], openapi_extra=_AUTH)
def list_devices(request: Request) -> Response:
    slug, _ = _tenant(request)
    return success(devices.list_devices(context_of(request).store, slug))


@router.post("/devices", status_code=201, response_model=Envelope[DeviceOut], openapi_extra=_AUTH)
def add_device(request: Request, device: DeviceIn) -> Response:
    slug, _ = _tenant(request)
    added = devices.add_device(context_of(request).store, slug, **device.model_dump())
    return success(added, 201)


@router.post(
    "/devices/{identifier}/disable", response_model=Envelope[DeviceOut], openapi_extra=_AUTH
)
def disable_device(request: Request, identifier: str) -> Response:
    slug, _ = _tenant(request)
    store = context_of(request).store
    return success(devices.set_device_active(store, slug, identifier, active=False))


@router.get("/employees", response_model=Envelope[list[EmployeeOut]], openapi_extra=_AUTH)
def list_employees(request: Request) -> Response:
    slug, _ = _tenant(request)
    return success(employees.list_employees(context_of(request).store, slug))


@router.put("/employees", response_model=Envelope[UpsertOut], openapi_extra=_AUTH)
def upsert_employees(request: Request, body: list[EmployeeIn] = Body(...)) -> Response:
    """Insert or update employees by number, all or nothing; attaches held punches."""
    slug, _ = _tenant(request)
    if not body:
        raise InvalidInput("Send at least one employee")
    if len(body) > MAX_UPSERT:
        raise InvalidInput(f"At most {MAX_UPSERT} employees per request, {len(body)} received")
    rows = [employees.EmployeeIn(e.number, e.name, e.joinedOn, e.leftOn, e.active) for e in body]
    result = employees.upsert_employees(context_of(request).store, slug, rows)
    return success(result.to_dict())


@router.post(
    "/employees/{number}/deactivate", response_model=Envelope[EmployeeOut], openapi_extra=_AUTH
)
def deactivate_employee(request: Request, number: str) -> Response:
    slug, _ = _tenant(request)
    return success(employees.deactivate_employee(context_of(request).store, slug, number))


@router.get("/keys", response_model=Envelope[list[KeyOut]], openapi_extra=_AUTH)
def list_keys(request: Request) -> Response:
    slug, _ = _tenant(request)
    return success(keys.list_keys(context_of(request).store, slug))


@router.post("/keys", status_code=201, response_model=Envelope[IssuedKeyOut], openapi_extra=_AUTH)
def issue_key(request: Request, key: KeyIn) -> Response:
    slug, _ = _tenant(request)
    issued = keys.issue_key(
        context_of(request).store,
        slug,
        scope=key.scope,
        label=key.label,
        expires_at=key.expiresAt,
    )
    return success(issued.to_dict(), 201)


@router.post("/keys/{key_id}/revoke", response_model=Envelope[KeyOut], openapi_extra=_AUTH)
def revoke_key(request: Request, key_id: str) -> Response:
    _, tenant_id = _tenant(request)
    return success(keys.revoke_key(context_of(request).store, key_id, tenant_id=tenant_id))
