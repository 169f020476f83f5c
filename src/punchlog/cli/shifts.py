"""``punchlog shift ...`` and ``punchlog holiday ...``"""

from __future__ import annotations

from typing import Annotated

import typer

from punchlog.cli.arguments import parse_date, to_date
from punchlog.cli.output import JsonOpt, emit_object, emit_rows, handle_errors, open_store
from punchlog.services import shifts
from punchlog.services.shifts import ShiftIn

app = typer.Typer(help="Shifts: create, list, assign to employees.", no_args_is_help=True)
holiday_app = typer.Typer(help="Holidays: add, list.", no_args_is_help=True)


@app.command("create")
@handle_errors
def create(
    slug: str,
    code: str,
    start: Annotated[str, typer.Option(help="Start, HH:MM (tenant time).")],
    end: Annotated[str, typer.Option(help="End, HH:MM; at or before start: next day.")],
    name: Annotated[str, typer.Option()] = "",
    checkin_before: Annotated[
        int, typer.Option(help="Window opens this many minutes before start.")
    ] = 60,
    checkout_after: Annotated[
        int, typer.Option(help="Window closes this many minutes after end.")
    ] = 60,
    late_grace: Annotated[int, typer.Option(help="Minutes late before 'late' counts.")] = 0,
    early_grace: Annotated[int, typer.Option(help="Minutes early before 'early' counts.")] = 0,
    half_day_below: Annotated[
        float | None, typer.Option(help="Hours: below is a half day.")
    ] = None,
    absent_below: Annotated[float | None, typer.Option(help="Hours: below is absent.")] = None,
    hours_mode: Annotated[str, typer.Option(help="first_last or pairs.")] = "first_last",
    weekly_offs: Annotated[str, typer.Option(help="Days off, e.g. sat,sun.")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Create a shift."""
    shift = shifts.create_shift(
        open_store(),
        slug,
        ShiftIn(
            code=code,
            start=start,
            end=end,
            name=name,
            checkin_before=checkin_before,
            checkout_after=checkout_after,
            late_grace=late_grace,
            early_grace=early_grace,
            half_day_below_hours=half_day_below,
            absent_below_hours=absent_below,
            hours_mode=hours_mode,
            weekly_offs=weekly_offs,
        ),
    )
    emit_object(shift, as_json=json_out, title=f"shift {code} created")


@app.command("list")
@handle_errors
def list_(slug: str, json_out: JsonOpt = False) -> None:
    """List a tenant's shifts."""
    columns = ["code", "name", "start", "end", "lateGrace", "hoursMode", "weeklyOffs"]
    emit_rows("shifts", shifts.list_shifts(open_store(), slug), columns, as_json=json_out)


@app.command("assign")
@handle_errors
def assign(
    slug: str,
    number: str,
    code: str,
    from_: Annotated[str, typer.Option("--from", help="First date, YYYY-MM-DD.")],
    to: Annotated[str | None, typer.Option("--to", help="Last date (inclusive).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Assign a shift to an employee from a date (the newest assignment wins)."""
    result = shifts.assign_shift(
        open_store(),
        slug,
        number,
        code,
        from_date=to_date(from_, "--from"),
        to_date=parse_date(to, "--to"),
    )
    emit_object(result, as_json=json_out, title="shift assigned")


@holiday_app.command("add")
@handle_errors
def holiday_add(
    slug: str, day: str, name: Annotated[str, typer.Option()] = "", json_out: JsonOpt = False
) -> None:
    """Mark a date as a holiday for the tenant."""
    parsed = parse_date(day, "date")
    assert parsed is not None
    emit_object(
        shifts.add_holiday(open_store(), slug, parsed, name=name),
        as_json=json_out,
        title="holiday added",
    )


@holiday_app.command("list")
@handle_errors
def holiday_list(slug: str, json_out: JsonOpt = False) -> None:
    """List the tenant's holidays."""
    emit_rows(
        "holidays", shifts.list_holidays(open_store(), slug), ["date", "name"], as_json=json_out
    )
