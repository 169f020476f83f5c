"""API key rows: only the hash of a key is ever stored."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, insert, select, update

from punchlog.storage.registry import bump, bump_for_key
from punchlog.storage.tables import api_keys, tenants


def insert_key(
    conn: Connection,
    *,
    tenant_id: int,
    public_id: str,
    key_hash: str,
    scope: str,
    label: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> int:
    result = conn.execute(
        insert(api_keys)
        .values(
            tenant_id=tenant_id,
            public_id=public_id,
            key_hash=key_hash,
            scope=scope,
            label=label,
            created_at=now,
            expires_at=expires_at,
        )
        .returning(api_keys.c.id)
    )
    bump(conn, tenant_id=tenant_id)
    return int(result.scalar_one())


def find_key_with_tenant(conn: Connection, *, public_id: str) -> RowMapping | None:
    """The key row (any state) and its tenant's ingestion settings, in one indexed lookup."""
    query = (
        select(
            api_keys.c.id,
            api_keys.c.public_id,
            api_keys.c.key_hash,
            api_keys.c.scope,
            api_keys.c.expires_at,
            api_keys.c.revoked_at,
            api_keys.c.tenant_id,
            tenants.c.slug.label("tenant_slug"),
            tenants.c.timezone.label("tenant_timezone"),
            tenants.c.backdate_days,
            tenants.c.future_tolerance_seconds,
            tenants.c.unknown_employees,
            tenants.c.registry_version,
            tenants.c.rate_limit_per_second,
            tenants.c.rate_limit_burst,
        )
        .join(tenants, tenants.c.id == api_keys.c.tenant_id)
        .where(api_keys.c.public_id == public_id)
    )
    return conn.execute(query).mappings().first()


def list_keys(conn: Connection, *, tenant_id: int) -> Sequence[RowMapping]:
    query = (
        select(
            api_keys.c.public_id,
            api_keys.c.scope,
            api_keys.c.label,
            api_keys.c.created_at,
            api_keys.c.expires_at,
            api_keys.c.revoked_at,
            api_keys.c.last_used_at,
        )
        .where(api_keys.c.tenant_id == tenant_id)
        .order_by(api_keys.c.id)
    )
    return conn.execute(query).mappings().all()


def get_key(conn: Connection, *, public_id: str, tenant_id: int | None = None) -> RowMapping | None:
    query = select(api_keys).where(api_keys.c.public_id == public_id)
    if tenant_id is not None:
        query = query.where(api_keys.c.tenant_id == tenant_id)
    return conn.execute(query).mappings().first()


def revoke_key(conn: Connection, *, key_id: int, now: datetime) -> None:
    conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    bump_for_key(conn, key_id=key_id)


def touch_key(conn: Connection, *, key_id: int, now: datetime, older_than: datetime) -> None:
    """Record use, at most once per interval (so the hot path does not rewrite the row)."""
    conn.execute(
        update(api_keys)
        .where(
            api_keys.c.id == key_id,
            (api_keys.c.last_used_at.is_(None)) | (api_keys.c.last_used_at < older_than),
        )
        .values(last_used_at=now)
    )
