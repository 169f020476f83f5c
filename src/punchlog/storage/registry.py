"""The tenant's registry version: one number that changes with every change to the tenant's
settings, keys, devices or employees.

Processes cache those rows (services.registry) and read this number inside each ingest
transaction: equal means the cache is current; different means reload. Every storage
function that writes one of those tables calls :func:`bump` in the same transaction, so a
revoked key or a disabled device is seen by the next request in every process.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from punchlog.storage.driver import cursor
from punchlog.storage.locks import ARRIVALS_LOCK
from punchlog.storage.tables import api_keys, tenants

_VERSION_SQL = {
    "sqlite": "SELECT registry_version FROM tenants WHERE id = ?",
    "postgresql": "SELECT registry_version FROM tenants WHERE id = %s",
}
# PostgreSQL, for a writer of punches: storage.punches.lock_arrivals (shared) in the same
# round trip; the lock is taken before the version is read.
_LOCKED_VERSION_SQL = (
    "SELECT pg_advisory_xact_lock_shared(%s, %s)::text,"
    " (SELECT registry_version FROM tenants WHERE id = %s)"
)


def bump(conn: Connection, *, tenant_id: int) -> None:
    conn.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(registry_version=tenants.c.registry_version + 1)
    )


def bump_for_key(conn: Connection, *, key_id: int) -> None:
    owner = select(api_keys.c.tenant_id).where(api_keys.c.id == key_id).scalar_subquery()
    conn.execute(
        update(tenants)
        .where(tenants.c.id == owner)
        .values(registry_version=tenants.c.registry_version + 1)
    )


def version(conn: Connection, *, tenant_id: int, lock_arrivals: bool = False) -> int | None:
    """The current version (``None`` for a tenant that does not exist). Driver SQL
    (storage.driver): this runs once per ingest transaction. With ``lock_arrivals``, first
    takes :func:`storage.punches.lock_arrivals` shared, in the same statement."""
    cur = cursor(conn)
    if lock_arrivals and conn.dialect.name == "postgresql":
        cur.execute(_LOCKED_VERSION_SQL, (ARRIVALS_LOCK, tenant_id, tenant_id))
        row = cur.fetchone()
        return None if row is None or row[1] is None else int(row[1])
    cur.execute(_VERSION_SQL[conn.dialect.name], (tenant_id,))
    row = cur.fetchone()
    return None if row is None else int(row[0])
