"""``punchlog device ...``"""

from __future__ import annotations

from typing import Annotated

import typer

from punchlog.cli.output import JsonOpt, console, emit_json, emit_rows, handle_errors, open_store
from punchlog.services import devices

app = typer.Typer(help="Devices: register, list, disable.", no_args_is_help=True)


@app.command("add")
@handle_errors
def add(
    slug: str,
    identifier: Annotated[str | None, typer.Option(help="Device id; a GUID if omitted.")] = None,
    name: Annotated[str, typer.Option()] = "",
    location: Annotated[str, typer.Option()] = "",
    timezone: Annotated[str | None, typer.Option(help="IANA zone; overrides the tenant's.")] = None,
    direction: Annotated[str, typer.Option(help="both, in or out.")] = "both",
    json_out: JsonOpt = False,
) -> None:
    """Register a device; prints its identifier."""
    device = devices.add_device(
        open_store(),
        slug,
        identifier=identifier,
        name=name,
        location=location,
        timezone=timezone,
        direction=direction,
    )
    if json_out:
        emit_json(device)
    else:
        console.print(device["identifier"], markup=False, highlight=False)


@app.command("list")
@handle_errors
def list_(slug: str, json_out: JsonOpt = False) -> None:
    """List a tenant's devices."""
    rows = devices.list_devices(open_store(), slug)
    columns = ["identifier", "name", "location", "timezone", "direction", "active", "lastSeenAt"]
    emit_rows("devices", rows, columns, as_json=json_out)


@app.command("disable")
@handle_errors
def disable(slug: str, identifier: str, json_out: JsonOpt = False) -> None:
    """Disable a device: its logs are rejected (device_disabled) from the next request."""
    device = devices.set_device_active(open_store(), slug, identifier, active=False)
    if json_out:
        emit_json(device)
    else:
        console.print(f"device {device['identifier']} disabled", markup=False)
