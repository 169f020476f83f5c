"""Devices: register (a GUID is generated when no identifier is given), list, disable."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError

from punchlog.domain.identifiers import normalize_device_identifier
from punchlog.errors import Conflict, InvalidInput, NotFound
from punchlog.services import audit
from punchlog.services.store import Store, utcnow
from punchlog.services.tenants import check_length, require_tenant, validate_zone
from punchlog.storage import devices as device_rows

DIRECTIONS = ("both", "in", "out")


def device_to_dict(row: RowMapping) -> dict[str, Any]:
    return {
        "identifier": row["identifier"],
        "name": row["name"],
        "location": row["location"],
        "timezone": row["timezone"],
        "direction": row["direction"],
        "active": bool(row["active"]),
        "createdAt": row["created_at"].isoformat(),
        "lastSeenAt": row["last_seen_at"].isoformat() if row["last_seen_at"] else None,
    }


def add_device(
    store: Store,
    slug: str,
    *,
    identifier: str | None = None,
    name: str = "",
    location: str = "",
    timezone: str | None = None,
    direction: str = "both",
) -> dict[str, Any]:
    if identifier is None or identifier.strip() == "":
        identifier = str(uuid.uuid4())
    normalized = normalize_device_identifier(identifier)
    if normalized is None:
        raise InvalidInput(
            f"Invalid device identifier {identifier!r}: 1-128 characters, no control characters"
        )
    check_length("Device name", name)
    check_length("Device location", location)
    if direction not in DIRECTIONS:
        raise InvalidInput(f"Invalid direction {direction!r}: use one of both, in, out")
    if timezone:
        validate_zone(timezone)
    try:
        with store.write() as conn:
            tenant = require_tenant(conn, slug)
            device_rows.insert_device(
                conn,
                tenant_id=tenant.id,
                identifier=normalized,
                name=name,
                location=location,
                timezone=timezone or None,
                direction=direction,
                now=utcnow(),
            )
            row = device_rows.get_device(conn, tenant_id=tenant.id, identifier=normalized)
            assert row is not None
            added = device_to_dict(row)
            audit.record(conn, tenant.id, "device.add", normalized, **added)
            return added
    except IntegrityError as exc:
        raise Conflict(f"Device {normalized!r} already exists in tenant {slug!r}") from exc


def list_devices(store: Store, slug: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        tenant = require_tenant(conn, slug)
        return [device_to_dict(r) for r in device_rows.list_devices(conn, tenant_id=tenant.id)]


def set_device_active(store: Store, slug: str, identifier: str, *, active: bool) -> dict[str, Any]:
    normalized = normalize_device_identifier(identifier) or identifier
    with store.write() as conn:
        tenant = require_tenant(conn, slug)
        row = device_rows.get_device(conn, tenant_id=tenant.id, identifier=normalized)
        if row is None:
            raise NotFound(f"Unknown device {identifier!r} in tenant {slug!r}")
        device_rows.set_device_active(conn, device_id=row["id"], active=active)
        action = "device.enable" if active else "device.disable"
        audit.record(conn, tenant.id, action, normalized, wasActive=row["active"])
        row = device_rows.get_device(conn, tenant_id=tenant.id, identifier=normalized)
        assert row is not None
        return device_to_dict(row)
