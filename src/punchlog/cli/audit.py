"""``punchlog audit list``: who changed what, when."""

from __future__ import annotations

from typing import Annotated

import typer

from punchlog.cli.output import JsonOpt, emit_rows, handle_errors, open_store
from punchlog.services import audit

app = typer.Typer(
    help="The audit log: changes to keys, devices, employees, settings and corrections."
)


@app.command("list")
@handle_errors
def list_(
    slug: str,
    limit: Annotated[int, typer.Option(help="Newest entries to show.")] = 100,
    json_out: JsonOpt = False,
) -> None:
    """A tenant's newest audit entries (who, what, when), newest first."""
    entries = audit.list_entries(open_store(), slug, limit=limit)
    emit_rows("entries", entries, ["at", "actor", "action", "target", "details"], as_json=json_out)
