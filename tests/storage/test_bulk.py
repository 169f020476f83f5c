"""The bulk insert that skips conflicts (storage.bulk.insert_rows): on PostgreSQL the rows
travel as one JSON array cast by the server, on SQLite as multi-row VALUES. Awkward values
must come back exactly, and a value too long for its column is refused, never cut short."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from punchlog.errors import InvalidInput
from punchlog.services.store import Store
from punchlog.storage import punches as punch_rows
from punchlog.storage.tables import devices, punches, tenants

NOW = datetime(2026, 12, 3, 10, 0, 0, 123456, tzinfo=UTC)
NUMBERS = ['E"1', "E\\2", "Ω-3", "E 4 ,{}", "😀5", "null", "6" * 64]


def _tenant_and_device(store: Store) -> tuple[int, int]:
    with store.write() as conn:
        tenant_id = conn.execute(
            insert(tenants)
            .values(slug="t", name="t", timezone="UTC", created_at=NOW)
            .returning(tenants.c.id)
        ).scalar_one()
        device_id = conn.execute(
            insert(devices)
            .values(tenant_id=tenant_id, identifier="d", created_at=NOW)
            .returning(devices.c.id)
        ).scalar_one()
    return tenant_id, device_id


def _row(tenant_id: int, device_id: int, number: str, at: datetime) -> tuple[object, ...]:
    local = at.replace(tzinfo=None) + timedelta(hours=5, minutes=30)
    return (tenant_id, at, number, device_id, 1, local, None, "api", None, NOW)


def test_awkward_values_come_back_exactly(store: Store) -> None:
    tenant_id, device_id = _tenant_and_device(store)
    rows = [
        _row(tenant_id, device_id, number, NOW + timedelta(microseconds=i))
        for i, number in enumerate(NUMBERS)
    ]
    with store.write() as conn:
        assert punch_rows.insert_punches(conn, rows=rows) == len(NUMBERS)
        assert punch_rows.insert_punches(conn, rows=rows) == 0  # all duplicates now
    with store.read() as conn:
        stored = conn.execute(
            select(
                punches.c.employee_number,
                punches.c.punched_at,
                punches.c.local_time,
                punches.c.employee_id,
                punches.c.received_at,
            ).order_by(punches.c.punched_at)
        ).all()
    assert [tuple(r) for r in stored] == [(r[2], r[1], r[5], None, NOW) for r in rows]


def test_a_value_too_long_is_refused_or_kept_whole_never_cut(store: Store) -> None:
    """PostgreSQL refuses a number longer than its VARCHAR(64) (a 400 to the client, nothing
    stored); SQLite does not enforce lengths and keeps it whole (the domain rules bound
    numbers before they get here)."""
    tenant_id, device_id = _tenant_and_device(store)
    long_number = "7" * 65
    if store.is_sqlite:
        with store.write() as conn:
            punch_rows.insert_punches(conn, rows=[_row(tenant_id, device_id, long_number, NOW)])
        with store.read() as conn:
            assert conn.execute(select(punches.c.employee_number)).scalar_one() == long_number
        return
    with pytest.raises(InvalidInput), store.write() as conn:
        punch_rows.insert_punches(conn, rows=[_row(tenant_id, device_id, long_number, NOW)])
    with store.read() as conn:
        assert punch_rows.count_punches(conn, tenant_id=tenant_id) == 0
