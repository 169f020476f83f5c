"""Rows the storage tests start from, written straight through the tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, insert

from punchlog.services.store import Store
from punchlog.storage.tables import devices, tenants

CREATED = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def add_tenant(conn: Connection, slug: str) -> int:
    """A tenant (UTC) named ``slug``: its id."""
    return int(
        conn.execute(
            insert(tenants)
            .values(slug=slug, name=slug, timezone="UTC", created_at=CREATED)
            .returning(tenants.c.id)
        ).scalar_one()
    )


def tenant_and_device(store: Store) -> tuple[int, int]:
    """Tenant ``t`` (UTC) with one device ``d``: their ids."""
    with store.write() as conn:
        tenant_id = add_tenant(conn, "t")
        device_id = conn.execute(
            insert(devices)
            .values(tenant_id=tenant_id, identifier="d", created_at=CREATED)
            .returning(devices.c.id)
        ).scalar_one()
    return tenant_id, device_id
