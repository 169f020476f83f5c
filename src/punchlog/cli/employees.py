"""``punchlog employee ...``, including CSV import (upsert, progress bar, errors by line)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from punchlog.cli.arguments import parse_date
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
from punchlog.services import employees
from punchlog.services.employees import EmployeeIn

app = typer.Typer(help="Employees: add, import, deactivate, list.", no_args_is_help=True)

_COLUMNS = {
    "number": "number",
    "name": "name",
    "joined": "joined",
    "joined_on": "joined",
    "left": "left",
    "left_on": "left",
    "active": "active",
}
_TRUE = {"1", "true", "yes", "y", "active"}
_FALSE = {"0", "false", "no", "n", "inactive"}


@app.command("add")
@handle_errors
def add(
    slug: str,
    number: str,
    name: Annotated[str, typer.Option()] = "",
    joined: Annotated[str | None, typer.Option(help="Joined on, YYYY-MM-DD.")] = None,
    left: Annotated[str | None, typer.Option(help="Left on, YYYY-MM-DD.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Register an employee; held logs with this number are attached."""
    employee = EmployeeIn(number, name, parse_date(joined, "joined"), parse_date(left, "left"))
    result = employees.add_employee(open_store(), slug, employee)
    payload = {"number": number.strip(), **result.to_dict()}
    emit_object(payload, as_json=json_out, title=f"employee {number.strip()} added")


def read_csv(path: Path) -> list[EmployeeIn]:
    """Parse an employee CSV (header ``number,name[,joined,left,active]``)."""
    where = path.name
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}") from exc
    rows: list[EmployeeIn] = []
    first_line: dict[str, int] = {}
    with handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise InvalidInput(f"{where}: empty file; expected a header number,name") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{where} line 1: {exc}") from exc
        names = [h.strip().lower() for h in header]
        unknown = [h for h in names if h not in _COLUMNS]
        if "number" not in names or unknown:
            raise InvalidInput(
                f"{where} line 1: header must be number,name[,joined,left,active]"
                + (f"; unknown column {unknown[0]!r}" if unknown else "")
            )
        fields = [_COLUMNS[h] for h in names]
        try:
            for record in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) != len(fields):
                    raise InvalidInput(
                        f"{where} line {line}: {len(record)} fields, header has {len(fields)}"
                    )
                values = dict(zip(fields, record, strict=True))
                rows.append(_row(values, where, line, first_line))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{where} line {reader.line_num}: {exc}") from exc
    return rows


def _row(values: dict[str, str], where: str, line: int, first_line: dict[str, int]) -> EmployeeIn:
    try:
        active_text = values.get("active", "").strip().lower()
        if active_text and active_text not in _TRUE | _FALSE:
            raise InvalidInput(f"invalid active value {active_text!r}")
        employee = employees.validate_employee(
            EmployeeIn(
                number=values["number"],
                name=values.get("name", ""),
                joined_on=parse_date(values.get("joined"), "joined"),
                left_on=parse_date(values.get("left"), "left"),
                active=active_text not in _FALSE,
            )
        )
    except InvalidInput as exc:
        raise InvalidInput(f"{where} line {line}: {exc}") from exc
    if employee.number in first_line:
        raise InvalidInput(
            f"{where} line {line}: number {employee.number!r} already on line "
            f"{first_line[employee.number]}"
        )
    first_line[employee.number] = line
    return employee


@app.command("import")
@handle_errors
def import_(
    slug: str,
    file: Annotated[Path, typer.Argument(help="CSV with header number,name[,joined,left,active].")],
    json_out: JsonOpt = False,
) -> None:
    """Insert or update employees from a CSV file, all or nothing."""
    rows = read_csv(file)
    store = open_store()
    with Progress(console=console, disable=json_out, transient=True) as progress:
        task = progress.add_task("importing", total=len(rows))
        result = employees.upsert_employees(
            store, slug, rows, on_progress=lambda done: progress.update(task, completed=done)
        )
    payload = {"rows": len(rows), **result.to_dict()}
    if json_out:
        emit_json(payload)
    else:
        console.print(
            f"imported {len(rows)} employees; {result.attached} held punches attached",
            markup=False,
        )


@app.command("deactivate")
@handle_errors
def deactivate(
    slug: str,
    number: str,
    left: Annotated[str | None, typer.Option(help="Left on, YYYY-MM-DD.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Mark an employee as left: later logs are rejected (employee_inactive)."""
    row = employees.deactivate_employee(
        open_store(), slug, number, left_on=parse_date(left, "left")
    )
    emit_object(row, as_json=json_out, title=f"employee {row['number']} deactivated")


@app.command("list")
@handle_errors
def list_(slug: str, json_out: JsonOpt = False) -> None:
    """List a tenant's employees."""
    rows = employees.list_employees(open_store(), slug)
    emit_rows(
        "employees", rows, ["number", "name", "joinedOn", "leftOn", "active"], as_json=json_out
    )
