"""``punchlog tenant ...``"""

from __future__ import annotations

from typing import Annotated

import typer

from punchlog.cli.output import JsonOpt, emit_object, emit_rows, handle_errors, open_store
from punchlog.services import shifts, tenants

app = typer.Typer(help="Tenants: create, list, change settings.", no_args_is_help=True)


@app.command("create")
@handle_errors
def create(
    slug: Annotated[str, typer.Argument(help="Short name: lower-case letters, digits, '-'.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA zone for device wall times.")] = "UTC",
    backdate_days: Annotated[int, typer.Option(help="Oldest log accepted, in days.")] = 30,
    unknown_employees: Annotated[
        str, typer.Option(help="hold (store unmatched, attach later) or reject.")
    ] = "hold",
    json_out: JsonOpt = False,
) -> None:
    """Create a tenant."""
    tenant = tenants.create_tenant(
        open_store(),
        slug,
        name=name,
        timezone=timezone,
        backdate_days=backdate_days,
        unknown_employees=unknown_employees,
    )
    emit_object(tenant.to_dict(), as_json=json_out, title=f"tenant {slug} created")


@app.command("list")
@handle_errors
def list_(json_out: JsonOpt = False) -> None:
    """List tenants."""
    rows = [t.to_dict() for t in tenants.list_tenants(open_store())]
    emit_rows(
        "tenants",
        rows,
        ["slug", "name", "timezone", "backdateDays", "unknownEmployees"],
        as_json=json_out,
    )


@app.command("set")
@handle_errors
def set_(
    slug: str,
    timezone: Annotated[str | None, typer.Option(help="IANA zone.")] = None,
    backdate_days: Annotated[int | None, typer.Option(help="Oldest log accepted, in days.")] = None,
    unknown_employees: Annotated[str | None, typer.Option(help="hold or reject.")] = None,
    default_shift: Annotated[
        str | None, typer.Option(help="Shift code for employees without one ('' clears).")
    ] = None,
    bounce_seconds: Annotated[
        int | None, typer.Option(help="Same-direction punches this close count once.")
    ] = None,
    rate_limit: Annotated[
        str | None,
        typer.Option(help="Requests per second per key (0: unlimited; 'default': the server's)."),
    ] = None,
    rate_burst: Annotated[
        int | None, typer.Option(help="Requests a key may send at once before being limited.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a tenant's settings."""
    tenant = shifts.update_settings(
        open_store(),
        slug,
        timezone=timezone,
        backdate_days=backdate_days,
        unknown_employees=unknown_employees,
        default_shift=default_shift,
        bounce_seconds=bounce_seconds,
        rate_limit=rate_limit,
        rate_burst=rate_burst,
    )
    emit_object(tenant.to_dict(), as_json=json_out, title=f"tenant {slug} updated")
