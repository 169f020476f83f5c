"""The schema on SQLite and PostgreSQL: migrations match tables.py, constraints hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from punchlog.services.store import Store
from punchlog.storage import migrate
from punchlog.storage import punches as punch_rows
from punchlog.storage import requests as request_rows
from punchlog.storage.tables import punches
from tests.storage.rows import add_tenant, tenant_and_device

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_migrations_match_the_tables_and_rerun_cleanly(store: Store) -> None:
    migrate.upgrade(store.engine)  # already at head: a no-op
    migrate.check(store.engine)  # raises if tables.py and the migrations disagree


def _punch(tenant_id: int, device_id: int, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "tenant_id": tenant_id,
        "punched_at": NOW,
        "employee_number": "E1",
        "device_id": device_id,
        "status": 0,
        "local_time": NOW.replace(tzinfo=None) + timedelta(hours=5, minutes=30),
        "received_at": NOW,
    }
    row.update(extra)
    return row


def test_the_natural_key_is_a_database_constraint(store: Store) -> None:
    tenant_id, device_id = tenant_and_device(store)
    with store.write() as conn:
        conn.execute(insert(punches).values(**_punch(tenant_id, device_id)))
    with pytest.raises(IntegrityError), store.write() as conn:
        conn.execute(insert(punches).values(**_punch(tenant_id, device_id)))
    with store.write() as conn:  # another status is another punch
        conn.execute(insert(punches).values(**_punch(tenant_id, device_id, status=1)))
        assert punch_rows.count_punches(conn, tenant_id=tenant_id) == 2


def _row(punch: dict[str, object], request_row: int | None = None) -> tuple[object, ...]:
    full = {"source": "api", **punch, "request_id": request_row}
    return tuple(full.get(c) for c in punch_rows.PUNCH_COLUMNS)


def _request(store: Store, tenant_id: int) -> int:
    with store.write() as conn:
        values = request_rows.open_values(
            conn, tenant_id=tenant_id, key_id=None, request_id="r", received=0, now=NOW
        )
        return request_rows.insert_request(conn, values)


def test_bulk_insert_counts_only_new_rows_and_finds_its_own(store: Store) -> None:
    tenant_id, device_id = tenant_and_device(store)
    first = [_punch(tenant_id, device_id), _punch(tenant_id, device_id, employee_number="E2")]
    with store.write() as conn:
        assert punch_rows.insert_punches(conn, rows=[_row(p) for p in first]) == 2
    second_request = _request(store, tenant_id)
    second = [*first, _punch(tenant_id, device_id, employee_number="E3")]
    with store.write() as conn:
        count = punch_rows.insert_punches(conn, rows=[_row(p, second_request) for p in second])
        mine = punch_rows.keys_inserted_by(
            conn, tenant_id=tenant_id, request_row=second_request, instants={NOW}
        )
    assert count == 1
    assert mine == {(device_id, "E3", NOW, 0)}


def test_bulk_and_orm_writes_of_one_punch_collide(store: Store) -> None:
    """On SQLite the natural key holds instants as stored by storage.types: the bulk path must
    write exactly the same value, or the same punch could be stored twice."""
    tenant_id, device_id = tenant_and_device(store)
    at = NOW.replace(microsecond=0) + timedelta(seconds=7)
    with store.write() as conn:
        conn.execute(insert(punches).values(**_punch(tenant_id, device_id, punched_at=at)))
        again = punch_rows.insert_punches(
            conn, rows=[_row(_punch(tenant_id, device_id, punched_at=at))]
        )
        assert again == 0
        assert punch_rows.count_punches(conn, tenant_id=tenant_id) == 1


def test_status_outside_0_1_is_refused_by_the_database(store: Store) -> None:
    tenant_id, device_id = tenant_and_device(store)
    with pytest.raises(IntegrityError), store.write() as conn:
        conn.execute(insert(punches).values(**_punch(tenant_id, device_id, status=2)))


def test_instants_round_trip_as_aware_utc_and_naive_ones_are_refused(store: Store) -> None:
    tenant_id, device_id = tenant_and_device(store)
    kolkata = NOW.astimezone(timezone(timedelta(hours=5, minutes=30)))
    with store.write() as conn:
        conn.execute(insert(punches).values(**_punch(tenant_id, device_id, punched_at=kolkata)))
    with store.read() as conn:
        stored = conn.execute(select(punches.c.punched_at)).scalar_one()
    assert stored == NOW
    assert stored.utcoffset() == timedelta(0)
    with pytest.raises(StatementError), store.write() as conn:
        conn.execute(
            insert(punches).values(
                **_punch(tenant_id, device_id, punched_at=NOW.replace(tzinfo=None), status=1)
            )
        )


def test_queries_are_scoped_to_their_tenant(store: Store) -> None:
    tenant_id, device_id = tenant_and_device(store)
    with store.write() as conn:
        other = add_tenant(conn, "u")
        punch_rows.insert_punches(conn, rows=[_row(_punch(tenant_id, device_id))])
    with store.read() as conn:
        assert punch_rows.count_punches(conn, tenant_id=other) == 0
        assert punch_rows.list_punches(conn, tenant_id=other) == []
        assert len(punch_rows.list_punches(conn, tenant_id=tenant_id)) == 1


def test_sqlite_runs_in_wal_with_full_sync_and_a_busy_timeout(store: Store) -> None:
    with store.engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
            return
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_writers_take_the_lock_up_front_on_sqlite(store: Store) -> None:
    """BEGIN IMMEDIATE: a second writer waits (then fails) instead of deadlocking later."""
    if not store.is_sqlite:
        with store.write() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        return
    from punchlog.storage.database import build_engine

    impatient = build_engine(str(store.engine.url), sqlite_busy_timeout_ms=50)
    try:
        with store.write():
            with pytest.raises(OperationalError, match="locked"), impatient.begin() as other:
                other.execute(text("SELECT 1"))
            with impatient.connect() as reader:  # readers are not blocked
                reader = reader.execution_options(punchlog_readonly=True)
                with reader.begin():
                    assert reader.execute(text("SELECT count(*) FROM tenants")).scalar() == 0
    finally:
        impatient.dispose()


def test_postgresql_sessions_commit_durably_and_time_out(store: Store) -> None:
    """Whatever the server's defaults: a COMMIT returns only once it is on disk (an
    acknowledged log survives a crash), and no statement or lock wait runs unbounded."""
    if store.is_sqlite:
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        return
    with store.read() as conn:
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "30s"
        assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "30s"
