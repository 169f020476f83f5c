"""``python -m bench [attendance|ingest] [options]``: the benchmarks (``make bench`` runs all)."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

from bench import attendance, ingest


def run_ingest(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=ingest.__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="Length of each round.")
    parser.add_argument(
        "--rounds", type=int, default=5, help="Alternating rounds of ours and the peer's."
    )
    parser.add_argument(
        "--no-group-commit", action="store_true", help="Serve with PUNCHLOG_GROUP_COMMIT=false."
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite legs only.")
    args = parser.parse_args(argv)
    rows = ingest.run(
        args.seconds,
        rounds=args.rounds,
        group_commit=not args.no_group_commit,
        postgres=not args.no_postgres,
    )
    table = Table(
        title=f"Ingestion ({args.rounds} alternating rounds of {args.seconds} s per pair; "
        "SQLite synchronous=FULL)"
    )
    for column in (
        "figure",
        "punchlog",
        "floor / peer",
        "ratio",
        "ratio by round",
        "peak RSS MiB by round",
        "non-200",
        "socket errors",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.figure,
            f"{row.our_rate:,.0f}",
            f"{row.their_rate:,.0f} ({row.other_name})",
            f"{row.ratio:.2f}",
            " ".join(f"{r:.2f}" for r in row.round_ratios),
            " ".join(f"{r:,.0f}" for r in row.rss_by_round),
            str(row.failed),
            str(row.errors),
        )
    Console(width=180).print(table)
    return 0 if all(row.failed == 0 for row in rows) else 1


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip() if __doc__ else "")
        print("python -m bench ingest --help | python -m bench attendance --help")
        return 0
    if argv and argv[0] == "ingest":
        return run_ingest(argv[1:])
    if argv and argv[0] == "attendance":
        return attendance.main(argv[1:])
    return run_ingest([]) or attendance.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
