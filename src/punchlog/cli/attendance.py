"""``punchlog attendance ...`` and ``punchlog correction ...``"""

from __future__ import annotations

import csv
import getpass
import io
from datetime import date
from pathlib import Path
from typing import Annotated

import orjson
import typer

from punchlog.cli.arguments import to_date
from punchlog.cli.output import (
    JsonOpt,
    console,
    emit_json,
    emit_object,
    emit_rows,
    handle_errors,
    open_store,
)
from punchlog.errors import InvalidInput
from punchlog.services import attendance, corrections

app = typer.Typer(help="Attendance: day records, month register, export.", no_args_is_help=True)
correction_app = typer.Typer(help="Corrections: manual punches, exclusions.", no_args_is_help=True)

FromOpt = Annotated[str, typer.Option("--from", help="First date, YYYY-MM-DD.")]
ToOpt = Annotated[str, typer.Option("--to", help="Last date, YYYY-MM-DD.")]
EmployeeOpt = Annotated[str | None, typer.Option(help="Only this attendance number.")]
ActorOpt = Annotated[
    str | None, typer.Option(help="Who makes the correction [default: the OS user].")
]
CSV_COLUMNS = (
    "employeeNumber",
    "date",
    "dayType",
    "shift",
    "status",
    "firstIn",
    "lastOut",
    "grossSeconds",
    "effectiveSeconds",
    "breakSeconds",
    "lateBySeconds",
    "earlyBySeconds",
    "overtimeSeconds",
    "provisional",
)


def _range(first: str, last: str) -> tuple[date, date]:
    a, b = to_date(first, "--from"), to_date(last, "--to")
    attendance.check_range(a, b, max_days=None)
    return a, b


def _hours(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


@app.command("show")
@handle_errors
def show(
    slug: str, from_: FromOpt, to: ToOpt, employee: EmployeeOpt = None, json_out: JsonOpt = False
) -> None:
    """Day records for a date range."""
    first, last = _range(from_, to)
    records = attendance.days_for(open_store(), slug, first=first, last=last, employee=employee)
    if json_out:
        emit_json({"days": records})
        return
    rows = [
        {
            **r,
            "in": (r["firstIn"] or "-")[11:16],
            "out": (r["lastOut"] or "-")[11:16],
            "worked": _hours(r["grossSeconds"]),
            "late": _hours(r["lateBySeconds"]),
            "status": r["status"] + ("*" if r["provisional"] else "") if r["status"] else "-",
        }
        for r in records
    ]
    emit_rows(
        "days",
        rows,
        ["employeeNumber", "date", "shift", "status", "in", "out", "worked", "late"],
        as_json=False,
    )
    if any(r["provisional"] for r in records):
        console.print("* provisional: the shift window has not closed yet")


@app.command("register")
@handle_errors
def register(
    slug: str,
    month: Annotated[str, typer.Option(help="YYYY-MM.")],
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """The month register: one row per employee, one code per day (P A HD MP WO H)."""
    grid = attendance.register(open_store(), slug, month)
    if json_out:
        emit_json(grid)
        return
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["employee", *grid["dates"]])
        for row in grid["rows"]:
            writer.writerow([row["employeeNumber"], *row["days"]])
        print(out.getvalue(), end="")
        return
    # A plain grid, never truncated: 31 columns do not fit a table in a terminal.
    width = max([8, *(len(r["employeeNumber"]) for r in grid["rows"])])
    print(f"{'employee':<{width}}  " + " ".join(d[8:] for d in grid["dates"]))
    for row in grid["rows"]:
        print(f"{row['employeeNumber']:<{width}}  " + " ".join(f"{c:<2}" for c in row["days"]))
    print("P present  A absent  HD half day  MP missing punch  WO weekly off  H holiday")


@app.command("export")
@handle_errors
def export(
    slug: str,
    from_: FromOpt,
    to: ToOpt,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    output: Annotated[
        Path | None, typer.Option(help="Write to this file (default stdout).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Export day records (CSV or JSON)."""
    if fmt not in ("csv", "json"):
        raise InvalidInput(f"Invalid format {fmt!r}: use csv or json")
    first, last = _range(from_, to)
    records = attendance.days_for(open_store(), slug, first=first, last=last)
    if fmt == "json":
        text = orjson.dumps({"days": records}, option=orjson.OPT_INDENT_2).decode() + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(
            {**r, "provisional": "true" if r["provisional"] else "false"} for r in records
        )
        text = buffer.getvalue()
    if output is None:
        if json_out and fmt == "csv":
            raise InvalidInput("--json with --format csv needs --output")
        print(text, end="")
        return
    output.write_text(text, encoding="utf-8")
    summary = {"records": len(records), "output": str(output), "format": fmt}
    emit_object(summary, as_json=json_out, title="exported")


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@correction_app.command("add-punch")
@handle_errors
def add_punch(
    slug: str,
    number: str,
    time: Annotated[str, typer.Option(help="Local time, YYYY-MM-DDTHH:MM:SS (tenant zone).")],
    direction: Annotated[str, typer.Option(help="in or out.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Add a manual punch (the raw logs stay untouched)."""
    result = corrections.add_punch(
        open_store(),
        slug,
        number,
        local_time=time,
        direction=direction,
        reason=reason,
        actor=_actor(actor),
    )
    emit_object(result, as_json=json_out, title="punch added")


@correction_app.command("exclude")
@handle_errors
def exclude(
    slug: str,
    punch_id: int,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Exclude a stored punch from the hours (it stays stored and listed)."""
    result = corrections.exclude_punch(
        open_store(), slug, punch_id, reason=reason, actor=_actor(actor)
    )
    emit_object(result, as_json=json_out, title="punch excluded")


@correction_app.command("list")
@handle_errors
def list_(slug: str, json_out: JsonOpt = False) -> None:
    """The audit trail of corrections: who, what, when, why."""
    rows = corrections.list_corrections(open_store(), slug)
    emit_rows(
        "corrections",
        rows,
        ["id", "kind", "employeeNumber", "punchId", "punchTime", "actor", "reason", "createdAt"],
        as_json=json_out,
    )
