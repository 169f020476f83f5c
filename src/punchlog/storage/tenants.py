"""Tenant rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, insert, select, update

from punchlog.storage.registry import forget_versions
from punchlog.storage.tables import shifts, tenants


def insert_tenant(
    conn: Connection,
    *,
    slug: str,
    name: str,
    timezone: str,
    backdate_days: int,
    unknown_employees: str,
    now: datetime,
) -> int:
    result = conn.execute(
        insert(tenants)
        .values(
            slug=slug,
            name=name,
            timezone=timezone,
            backdate_days=backdate_days,
            unknown_employees=unknown_employees,
            created_at=now,
        )
        .returning(tenants.c.id)
    )
    return int(result.scalar_one())


def _with_shift_code() -> Select[Any]:
    """Tenant rows with their default shift's code (``default_shift``)."""
    return select(tenants, shifts.c.code.label("default_shift")).outerjoin(
        shifts, shifts.c.id == tenants.c.default_shift_id
    )


def get_tenant_by_slug(conn: Connection, *, slug: str) -> RowMapping | None:
    return conn.execute(_with_shift_code().where(tenants.c.slug == slug)).mappings().first()


def get_tenant(conn: Connection, *, tenant_id: int) -> RowMapping | None:
    query = _with_shift_code().where(tenants.c.id == tenant_id)
    return conn.execute(query).mappings().first()


def list_tenants(conn: Connection) -> Sequence[RowMapping]:
    return conn.execute(_with_shift_code().order_by(tenants.c.slug)).mappings().all()


def update_tenant(conn: Connection, *, tenant_id: int, values: dict[str, Any]) -> None:
    """Change settings; bumps the registry version (storage.registry) in the same statement."""
    forget_versions(conn)
    conn.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(**values, registry_version=tenants.c.registry_version + 1)
    )
