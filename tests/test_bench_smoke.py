"""A smoke run of the benchmark harness with tiny numbers (the real run is ``make bench``)."""

from __future__ import annotations

import pytest

from bench.attendance import main, run_one


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_attendance_benchmark_runs_end_to_end(database: str) -> None:
    result = run_one(database, n_employees=12, n_days=4)
    assert result.database == database
    assert 12 * 4 <= result.punches <= 12 * 4 * 2  # one IN a day, most days an OUT
    # every day of the backdating window (days + 1 back, and today), absent or not
    assert result.records == 12 * (4 + 2)
    assert result.recompute_seconds > 0
    assert result.punches_per_second > 0


def test_the_benchmark_command_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--employees", "5", "--days", "2", "--databases", "sqlite"]) == 0
    out = capsys.readouterr().out
    assert "punches/s" in out
    assert "sqlite" in out


def test_the_ingestion_benchmark_runs_every_leg() -> None:
    """One round of one second a leg: real servers (SQLite; PostgreSQL with one and two
    workers) under wrk, the floor and the naive peer. Every leg answered, and answered 200."""
    from bench.ingest import run

    rows = run(1, rounds=1)
    assert [row.figure.split(":")[0] for row in rows] == [
        "SQLite",
        "SQLite",
        "load generator",
        "PostgreSQL",
        "PostgreSQL",
    ]
    for row in rows:
        assert len(row.ours) == len(row.theirs) == 1, row.figure
        assert all(load.requests > 0 for load in [*row.ours, *row.theirs]), row.figure
        assert row.failed == 0, row.figure
        assert row.ratio > 0, row.figure
        if not row.figure.startswith("load generator"):
            assert row.peak_rss_mib > 0, row.figure
