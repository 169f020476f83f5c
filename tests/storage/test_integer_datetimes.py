"""Migration 0009: SQLite datetimes as integer microseconds (storage.types), on both databases.

Rows written at revision 0008 (SQLAlchemy's text on SQLite) must read back the same after the
upgrade, keep colliding with a resend through the bulk path, and come back as the same text
after a downgrade. PostgreSQL is untouched by it, which is checked too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import StatementError

from punchlog.services.store import Store
from punchlog.storage import migrate
from punchlog.storage import punches as punch_rows
from punchlog.storage.bulk import memoized, sqlite_value
from punchlog.storage.tables import punches, tenants
from punchlog.storage.types import UTCDateTime, WallDateTime, sqlite_micros

# Microseconds, a whole second, before 1970 (floor division), and a leap-day instant.
CREATED = datetime(1969, 7, 20, 20, 17, 40, 500001, tzinfo=UTC)
PUNCHED = datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC)
RECEIVED = datetime(2026, 12, 4, 10, 0, 0, 123456, tzinfo=UTC)
LOCAL = datetime(2028, 3, 1, 5, 29, 59)  # the device's wall time, Asia/Kolkata


def _text(value: datetime) -> str:
    """SQLAlchemy's SQLite text, as revision 0008 stored datetimes."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _seed_at_0008(store: Store) -> None:
    migrate.downgrade(store.engine, "0008")
    sqlite = store.engine.dialect.name == "sqlite"

    def at(value: datetime) -> object:
        if not sqlite:
            return value
        return _text(value) if value.tzinfo else value.isoformat(" ", "microseconds")

    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tenants (id, slug, name, timezone, created_at)"
                " VALUES (1, 't', 't', 'Asia/Kolkata', :at)"
            ),
            {"at": at(CREATED)},
        )
        conn.execute(
            text(
                "INSERT INTO devices (id, tenant_id, identifier, created_at)"
                " VALUES (1, 1, 'd', :at)"
            ),
            {"at": at(RECEIVED)},
        )
        conn.execute(
            text(
                "INSERT INTO punches (tenant_id, punched_at, employee_number, device_id, status,"
                " local_time, source, received_at)"
                " VALUES (1, :punched, 'E1', 1, 0, :local, 'api', :received)"
            ),
            {"punched": at(PUNCHED), "local": at(LOCAL), "received": at(RECEIVED)},
        )


def _stored(store: Store) -> tuple[object, ...]:
    with store.engine.connect() as conn:
        return tuple(
            conn.execute(
                text(
                    "SELECT t.created_at, p.punched_at, p.local_time, p.received_at"
                    " FROM tenants t JOIN punches p ON p.tenant_id = t.id"
                )
            ).one()
        )


def test_upgrade_converts_rows_that_read_back_the_same(store: Store) -> None:
    _seed_at_0008(store)
    before = _stored(store)
    migrate.upgrade(store.engine)
    migrate.check(store.engine)
    after = _stored(store)
    if store.engine.dialect.name == "sqlite":
        assert before == (
            _text(CREATED),
            _text(PUNCHED),
            LOCAL.isoformat(" ", "microseconds"),
            _text(RECEIVED),
        )
        assert after == (
            sqlite_micros(CREATED),
            sqlite_micros(PUNCHED),
            sqlite_micros(LOCAL),
            sqlite_micros(RECEIVED),
        )
        assert sqlite_micros(CREATED) == -14182939499999
    else:
        assert after == before  # PostgreSQL: nothing to convert
    with store.read() as conn:
        assert conn.execute(select(tenants.c.created_at)).scalar_one() == CREATED
        row = conn.execute(
            select(punches.c.punched_at, punches.c.local_time, punches.c.received_at)
        ).one()
    assert tuple(row) == (PUNCHED, LOCAL, RECEIVED)
    with store.write() as conn:  # a resend of the converted punch is a duplicate
        resend = (1, PUNCHED, "E1", 1, 0, LOCAL, None, "api", None, RECEIVED + timedelta(1))
        assert punch_rows.insert_punches(conn, rows=[resend]) == 0
        fresh = (1, PUNCHED, "E1", 1, 1, LOCAL, None, "api", None, RECEIVED)
        assert punch_rows.insert_punches(conn, rows=[fresh]) == 1


def test_downgrade_gives_back_the_text(store: Store) -> None:
    _seed_at_0008(store)
    before = _stored(store)
    migrate.upgrade(store.engine)
    migrate.downgrade(store.engine, "0008")
    assert _stored(store) == before
    migrate.upgrade(store.engine)
    with store.read() as conn:
        assert conn.execute(select(tenants.c.created_at)).scalar_one() == CREATED


# Away from datetime.min and max: in UTC they may fall outside what a datetime can hold.
SAFE = {"min_value": datetime(1, 1, 2), "max_value": datetime(9999, 12, 30)}


@given(st.datetimes(timezones=st.timezones(), **SAFE))
def test_an_instant_survives_the_sqlite_round_trip(value: datetime) -> None:
    dialect = sqlite.dialect()
    stored = UTCDateTime().process_bind_param(value, dialect)
    assert isinstance(stored, int)
    back = UTCDateTime().process_result_value(stored, dialect)
    # Compared in UTC: PEP 495 makes an ambiguous wall time unequal to any other zone's.
    assert back == value.astimezone(UTC)
    assert back is not None
    assert back.tzinfo is UTC


@given(st.datetimes(), st.datetimes())
def test_wall_times_keep_their_order_as_integers(a: datetime, b: datetime) -> None:
    dialect = sqlite.dialect()
    wall = WallDateTime()
    x, y = wall.process_bind_param(a, dialect), wall.process_bind_param(b, dialect)
    assert (x < y) == (a < b)
    assert wall.process_result_value(x, dialect) == a


def test_an_instant_past_what_can_be_read_back_is_refused(store: Store) -> None:
    """9999-12-31 23:00 at UTC-5 is in year 10000 in UTC: refused when written (nothing
    stored), rather than stored and unreadable."""
    late = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))
    with pytest.raises(StatementError), store.write() as conn:
        conn.execute(
            insert(tenants).values(slug="late", name="late", timezone="UTC", created_at=late)
        )
    with store.read() as conn:
        assert conn.execute(select(tenants.c.slug)).all() == []


def test_equal_keys_in_a_repeated_hour_are_not_taken_for_one_instant() -> None:
    """01:30 in New York on 2026-11-01 happens twice (fold 0 and 1): equal as datetimes, an
    hour apart as instants. The memo of converted values must not merge them."""
    new_york = ZoneInfo("America/New_York")
    first = datetime(2026, 11, 1, 1, 30, tzinfo=new_york)
    second = first.replace(fold=1)
    convert = memoized(sqlite_value)
    assert first == second
    assert convert(second) - convert(first) == 3_600_000_000
    assert convert(first) == sqlite_micros(first.astimezone(UTC))


def test_the_upgrade_refuses_text_it_would_misread(store: Store) -> None:
    """Text that SQLAlchemy did not write (an offset, 3 fraction digits) stops the upgrade
    before anything changes, with the value named."""
    _seed_at_0008(store)
    if store.engine.dialect.name != "sqlite":
        migrate.upgrade(store.engine)  # PostgreSQL: nothing stored as text, nothing to refuse
        with store.read() as conn:
            assert conn.execute(select(tenants.c.created_at)).scalar_one() == CREATED
        return
    for odd in ("2026-12-04 10:00:00+05:30", "2026-12-04 10:00:00.123"):
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE devices SET created_at = :odd"), {"odd": odd})
        with pytest.raises(ValueError, match=r"devices\.created_at holds"):
            migrate.upgrade(store.engine)
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT created_at FROM devices")).scalar() == odd
            assert conn.execute(text("SELECT created_at FROM tenants")).scalar() == _text(CREATED)
