"""Every row of one tenant, in every table: what the isolation tests compare before and after
another tenant's key has tried everything."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Table, select

from punchlog.services.store import Store
from punchlog.storage.tables import metadata

# Tables a tenant's data fills in the isolation tests (the snapshot covers every table; these
# must not be empty in it, or the comparison would prove nothing).
FILLED_TABLES = (
    "tenants",
    "api_keys",
    "devices",
    "employees",
    "ingest_requests",
    "punches",
    "rejected_logs",
    "shifts",
    "shift_assignments",
    "holidays",
    "corrections",
    "attendance_days",
    "attendance_state",
)


def _of_tenant(table: Table, tenant_id: int) -> ColumnElement[bool]:
    """Whose a row is: its tenant_id, or (rows keyed by, e.g., a key) its parent's."""
    if table.name == "tenants":
        return table.c.id == tenant_id
    if "tenant_id" in table.c:
        return table.c.tenant_id == tenant_id
    for fk in table.foreign_keys:
        parent = fk.column.table
        if "tenant_id" in parent.c:
            return fk.parent.in_(select(fk.column).where(parent.c.tenant_id == tenant_id))
    raise AssertionError(f"{table.name}: no tenant_id and no parent with one; whose rows?")


def snapshot(store: Store, tenant_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tenant in every table (the tenant's own row included)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with store.read() as conn:
        for table in metadata.sorted_tables:
            query = select(table).where(_of_tenant(table, tenant_id))
            rows[table.name] = sorted((tuple(r) for r in conn.execute(query)), key=repr)
    return rows


@contextmanager
def tenant_unchanged(store: Store, tenant_id: int) -> Iterator[None]:
    """The tenant's rows after the block are its rows before it (and it has some of every
    kind in :data:`FILLED_TABLES`)."""
    before = snapshot(store, tenant_id)
    for table in FILLED_TABLES:
        assert before[table], f"the tenant has no {table} rows: the comparison would prove nothing"
    yield
    after = snapshot(store, tenant_id)
    changed = [t for t in before if before[t] != after[t]]
    assert not changed, {t: (before[t], after[t]) for t in changed}
