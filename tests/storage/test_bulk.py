"""The bulk insert that skips conflicts (storage.bulk.insert_rows): on PostgreSQL the rows
travel as one JSON array cast by the server, on SQLite as multi-row VALUES. Awkward values
must come back exactly, and a value too long for its column is refused, never cut short."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from punchlog.errors import InvalidInput
from punchlog.services.store import Store
from punchlog.storage import punches as punch_rows
from punchlog.storage import requests as request_rows
from punchlog.storage.punches import PreparedPunches
from punchlog.storage.tables import ingest_requests, punches
from tests.storage.rows import tenant_and_device

NOW = datetime(2026, 12, 3, 10, 0, 0, 123456, tzinfo=UTC)
NUMBERS = ['E"1', "E\\2", "Ω-3", "E 4 ,{}", "😀5", "null", "6" * 64]


def _row(tenant_id: int, device_id: int, number: str, at: datetime) -> tuple[object, ...]:
    local = at.replace(tzinfo=None) + timedelta(hours=5, minutes=30)
    return (tenant_id, at, number, device_id, 1, local, None, "api", None, NOW)


def test_awkward_values_come_back_exactly(store: Store) -> None:
    tenant_id, device_id = tenant_and_device(store)
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
    tenant_id, device_id = tenant_and_device(store)
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


def _prepared(store: Store, tenant_id: int, device_id: int, numbers: list[str]) -> PreparedPunches:
    dialect = store.engine.dialect.name
    convert = punch_rows.driver_datetime(dialect)
    values: list[object] = []
    for i, number in enumerate(numbers):
        at = NOW + timedelta(seconds=i)
        local = at.replace(tzinfo=None) + timedelta(hours=5, minutes=30)
        values += [convert(at), number, device_id, 0, convert(local), None]
    return PreparedPunches(dialect, len(numbers), values, tenant_id, "api", convert(NOW))


def test_the_request_row_and_its_punches_go_in_together(store: Store) -> None:
    """One statement on PostgreSQL (storage.punches.insert_with_request), two on SQLite: the
    same rows either way, each punch stamped with its request, only new punches counted."""
    tenant_id, device_id = tenant_and_device(store)
    first = _prepared(store, tenant_id, device_id, ["E1", "E2"])
    second = _prepared(store, tenant_id, device_id, ["E1", "E2", "E3"])  # E3 is new
    with store.write() as conn:
        values = request_rows.open_values(
            conn, tenant_id=tenant_id, key_id=None, request_id="r1", received=2, now=NOW
        )
        one, inserted_first = punch_rows.insert_with_request(conn, first, values)
        values = request_rows.open_values(
            conn, tenant_id=tenant_id, key_id=None, request_id="r2", received=3, now=NOW
        )
        two, inserted_second = punch_rows.insert_with_request(conn, second, values)
        empty = _prepared(store, tenant_id, device_id, [])
        three, inserted_none = punch_rows.insert_with_request(conn, empty, values)
    assert (inserted_first, inserted_second, inserted_none) == (2, 1, 0)
    assert len({one, two, three}) == 3
    with store.read() as conn:
        requests = dict(
            conn.execute(select(ingest_requests.c.id, ingest_requests.c.request_id)).all()
        )
        stamped = conn.execute(
            select(punches.c.employee_number, punches.c.request_id).order_by(
                punches.c.employee_number
            )
        ).all()
    assert requests == {one: "r1", two: "r2", three: "r2"}
    assert [tuple(r) for r in stamped] == [("E1", one), ("E2", one), ("E3", two)]


def test_an_offset_with_seconds_keeps_its_seconds(store: Store) -> None:
    """Asia/Kolkata in 1900 was +05:21:10 (local mean time). The bulk path must store the
    same instant as the ORM does, so a resend is a duplicate, not a second punch 10 s off
    (orjson writes offsets in whole minutes: instants go to it in UTC)."""
    tenant_id, device_id = tenant_and_device(store)
    at = datetime(1900, 1, 1, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    row = (tenant_id, at, "E1", device_id, 0, at.replace(tzinfo=None), None, "api", None, NOW)
    with store.write() as conn:
        conn.execute(insert(punches).values(dict(zip(punch_rows.PUNCH_COLUMNS, row, strict=True))))
        assert punch_rows.insert_punches(conn, rows=[row]) == 0
        assert punch_rows.insert_punches(conn, rows=[(*row[:4], 1, *row[5:])]) == 1
    with store.read() as conn:
        stored = conn.execute(select(punches.c.punched_at).order_by(punches.c.status)).scalars()
        assert list(stored) == [at, at]
        assert at.astimezone(UTC) == datetime(1900, 1, 1, 3, 38, 50, tzinfo=UTC)
