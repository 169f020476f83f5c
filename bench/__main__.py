"""``python -m bench [attendance|ingest] [options]``: the benchmarks (``make bench`` runs all)."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from bench import attendance, ingest


def run_ingest(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=ingest.__doc__)
    parser.add_argument("--seconds", type=int, default=15, help="Length of each load run.")
    parser.add_argument(
        "--no-group-commit", action="store_true", help="Serve with PUNCHLOG_GROUP_COMMIT=false."
    )
    args = parser.parse_args(argv)
    f = ingest.run(args.seconds, group_commit=not args.no_group_commit)
    table = Table(title="Ingestion, SQLite synchronous=FULL (one run, side by side)")
    for column in ("figure", "punchlog", "floor / peer", "ratio"):
        table.add_column(column, justify="right")
    table.add_row(
        "1000-log batches, 4 conns (logs/s)",
        f"{f.batch_logs_per_s:,.0f}",
        f"{f.floor_logs_per_s:,.0f} (floor)",
        f"{f.batch_logs_per_s / f.floor_logs_per_s:.2f}",
    )
    table.add_row(
        "single logs, 32 conns (req/s)",
        f"{f.single_req_per_s:,.0f}",
        f"{f.naive_req_per_s:,.0f} (naive)",
        f"{f.single_req_per_s / f.naive_req_per_s:.2f}",
    )
    table.add_row("peak server RSS (MiB)", f"{f.peak_rss_mib:,.0f}", "", "")
    table.add_row("non-200 answers", str(f.failed), "", "")
    table.add_row("socket errors (wrk)", str(f.errors), "", "")
    Console().print(table)
    return 0 if f.failed == 0 else 1


def main(argv: list[str]) -> int:
    if argv and argv[0] == "ingest":
        return run_ingest(argv[1:])
    if argv and argv[0] == "attendance":
        return attendance.main(argv[1:])
    return run_ingest([]) or attendance.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
