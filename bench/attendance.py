"""Attendance benchmark: recompute a full month for many employees.

    python -m bench [--employees 10000] [--days 30] [--databases sqlite,postgresql]

Builds a tenant with one default shift and ``employees`` x ``days`` x 2 punches (IN around
09:00, OUT around 18:00, 5 % of OUTs missing; seed fixed), stored through the real bulk insert,
then times one full catch-up (the engine over every day of every employee) and prints the
time and punches/s.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.databases import fresh_database
from punchlog.domain.times import load_zone
from punchlog.services import devices, employees, shifts, tenants
from punchlog.services.employees import EmployeeIn
from punchlog.services.recompute import catch_up
from punchlog.services.shifts import ShiftIn
from punchlog.services.store import Store
from punchlog.settings import Settings
from punchlog.storage import devices as device_rows
from punchlog.storage import employees as employee_rows
from punchlog.storage import punches as punch_rows
from punchlog.storage import tenants as tenant_rows

ZONE = "Asia/Kolkata"
SEED = 20261203


@dataclass(frozen=True)
class Result:
    database: str
    employees: int
    punches: int
    records: int
    load_seconds: float
    recompute_seconds: float

    @property
    def punches_per_second(self) -> float:
        return self.punches / self.recompute_seconds


def _populate(store: Store, n_employees: int, n_days: int) -> tuple[int, int]:
    tenant = tenants.create_tenant(store, "bench", timezone=ZONE, backdate_days=n_days + 1)
    device = devices.add_device(store, "bench", name="Gate")
    shifts.create_shift(store, "bench", ShiftIn("GEN", "09:00", "18:00", late_grace=10))
    shifts.set_attendance_settings(store, "bench", default_shift="GEN")
    numbers = [f"E{i:05d}" for i in range(n_employees)]
    employees.upsert_employees(store, "bench", [EmployeeIn(n) for n in numbers])
    with store.read() as conn:
        device_id = device_rows.get_device(
            conn, tenant_id=tenant.id, identifier=device["identifier"]
        )["id"]  # type: ignore[index]
        ids = {
            r["number"]: r["id"] for r in employee_rows.list_employees(conn, tenant_id=tenant.id)
        }
    zone = load_zone(ZONE)
    today = datetime.now(UTC).astimezone(zone).date()
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = []
    total = 0

    def flush() -> None:
        with store.write() as conn:
            punch_rows.insert_punches(conn, rows=rows)
        rows.clear()

    for day_offset in range(n_days, 0, -1):
        day = today - timedelta(days=day_offset)
        for number in numbers:
            start = datetime(day.year, day.month, day.day, 9, 0) + timedelta(
                minutes=rng.randint(-30, 30)
            )
            end = datetime(day.year, day.month, day.day, 18, 0) + timedelta(
                minutes=rng.randint(-45, 45)
            )
            stamps = [(start, 0)] + ([(end, 1)] if rng.random() > 0.05 else [])
            for wall, status in stamps:
                rows.append(  # punch_rows.PUNCH_COLUMNS
                    (
                        tenant.id,
                        wall.replace(tzinfo=zone).astimezone(UTC),
                        number,
                        device_id,
                        status,
                        wall,
                        ids[number],
                        "api",
                        None,
                        now,
                    )
                )
                total += 1
            if len(rows) >= 20_000:
                flush()
    if rows:
        flush()
    with store.read() as conn:
        assert tenant_rows.get_tenant(conn, tenant_id=tenant.id) is not None
    return tenant.id, total


def run_one(database: str, n_employees: int, n_days: int) -> Result:
    with fresh_database(database, f"attendance_{uuid.uuid4().hex[:8]}") as url:
        store = Store.from_settings(Settings(database_url=url))
        try:
            store.migrate()
            started = time.perf_counter()
            tenant_id, total = _populate(store, n_employees, n_days)
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            records = catch_up(store, tenant_id)
            elapsed = time.perf_counter() - started
        finally:
            store.dispose()
    return Result(database, n_employees, total, records, loaded, elapsed)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    results = [
        run_one(database, args.employees, args.days) for database in args.databases.split(",")
    ]
    table = Table(title="Attendance recompute: a full month, every employee, one catch-up")
    for column in (
        "database",
        "employees",
        "punches",
        "day records",
        "load s",
        "recompute s",
        "punches/s",
    ):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r.database,
            f"{r.employees:,}",
            f"{r.punches:,}",
            f"{r.records:,}",
            f"{r.load_seconds:.1f}",
            f"{r.recompute_seconds:.1f}",
            f"{r.punches_per_second:,.0f}",
        )
    Console().print(table)
    return 0
