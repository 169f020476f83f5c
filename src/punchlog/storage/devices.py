"""Device rows."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, insert, select, update

from punchlog.storage.registry import bump
from punchlog.storage.tables import devices


def insert_device(
    conn: Connection,
    *,
    tenant_id: int,
    identifier: str,
    name: str,
    location: str,
    timezone: str | None,
    direction: str,
    now: datetime,
) -> int:
    result = conn.execute(
        insert(devices)
        .values(
            tenant_id=tenant_id,
            identifier=identifier,
            name=name,
            location=location,
            timezone=timezone,
            direction=direction,
            created_at=now,
        )
        .returning(devices.c.id)
    )
    bump(conn, tenant_id=tenant_id)
    return int(result.scalar_one())


def list_devices(conn: Connection, *, tenant_id: int) -> Sequence[RowMapping]:
    query = select(devices).where(devices.c.tenant_id == tenant_id).order_by(devices.c.id)
    return conn.execute(query).mappings().all()


def get_device(conn: Connection, *, tenant_id: int, identifier: str) -> RowMapping | None:
    query = select(devices).where(
        devices.c.tenant_id == tenant_id, devices.c.identifier == identifier
    )
    return conn.execute(query).mappings().first()


def set_device_active(conn: Connection, *, device_id: int, active: bool) -> None:
    result = conn.execute(
        update(devices)
        .where(devices.c.id == device_id)
        .values(active=active)
        .returning(devices.c.tenant_id)
    )
    for (tenant_id,) in result.all():
        bump(conn, tenant_id=tenant_id)


def touch_devices(
    conn: Connection, *, device_ids: Collection[int], now: datetime, older_than: datetime
) -> None:
    """Advance last-seen, skipping rows seen recently (fewer row writes on the hot path)."""
    if not device_ids:
        return
    conn.execute(
        update(devices)
        .where(
            devices.c.id.in_(sorted(device_ids)),
            (devices.c.last_seen_at.is_(None)) | (devices.c.last_seen_at < older_than),
        )
        .values(last_seen_at=now)
    )
