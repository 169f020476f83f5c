"""The tenant's registry version: one number that changes with every change to the tenant's
settings, keys, devices or employees.

Processes cache those rows (services.registry) and read this number inside each ingest
transaction: equal means the cache is current; different means reload. Every storage
function that writes one of those tables calls :func:`bump` in the same transaction, so a
revoked key or a disabled device is seen by the next request in every process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


# Inside one group-commit transaction (SQLite: this process holds the write lock, so no one
# else can change a version) each tenant's version is read once; any bump forgets them.
_GROUP_MEMO = "punchlog_registry_versions"


@contextmanager
def group_memo(conn: Connection) -> Iterator[None]:
    """Remember versions read on ``conn`` until the block ends (one group transaction)."""
    conn.info[_GROUP_MEMO] = {}
    try:
        yield
    finally:
        conn.info.pop(_GROUP_MEMO, None)


def forget_versions(conn: Connection) -> None:
    """After a bump: the remembered versions may be stale."""
    memo = conn.info.get(_GROUP_MEMO)
    if memo:
        memo.clear()


def bump(conn: Connection, *, tenant_id: int) -> None:
    forget_versions(conn)
    conn.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(registry_version=tenants.c.registry_version + 1)
    )


def bump_for_key(conn: Connection, *, key_id: int) -> None:
    forget_versions(conn)
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
    memo: dict[int, int] | None = conn.info.get(_GROUP_MEMO)
    if memo is not None and tenant_id in memo:
        return memo[tenant_id]
    cur = cursor(conn)
    if lock_arrivals and conn.dialect.name == "postgresql":
        cur.execute(_LOCKED_VERSION_SQL, (ARRIVALS_LOCK, tenant_id, tenant_id))
        row = cur.fetchone()
        return None if row is None or row[1] is None else int(row[1])
    cur.execute(_VERSION_SQL[conn.dialect.name], (tenant_id,))
    row = cur.fetchone()
    if row is None:
        return None
    if memo is not None:
        memo[tenant_id] = int(row[0])
    return int(row[0])
