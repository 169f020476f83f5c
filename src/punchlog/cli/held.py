"""``punchlog unmatched ...`` and ``punchlog rejections ...``: logs not (yet) attached."""

from __future__ import annotations

from typing import Annotated

import typer

from punchlog.cli.output import JsonOpt, emit_object, emit_rows, handle_errors, open_store
from punchlog.services import punches, rejections
from punchlog.services.ingest import Limits
from punchlog.settings import Settings

unmatched_app = typer.Typer(help="Held logs whose number is not registered.", no_args_is_help=True)
rejections_app = typer.Typer(help="Rejected logs: list, replay.", no_args_is_help=True)

ReasonOpt = Annotated[str | None, typer.Option(help="Only this reason (e.g. unknown_device).")]


@unmatched_app.command("list")
@handle_errors
def unmatched_list(slug: str, json_out: JsonOpt = False) -> None:
    """Held logs grouped by attendance number; registering the number attaches them."""
    rows = punches.list_unmatched(open_store(), slug)
    emit_rows("unmatched", rows, ["employeeNumber", "count", "first", "last"], as_json=json_out)


@rejections_app.command("list")
@handle_errors
def rejections_list(
    slug: str,
    reason: ReasonOpt = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 1000,
    json_out: JsonOpt = False,
) -> None:
    """Pending rejected logs, with reason, key and time."""
    rows = rejections.list_rejections(open_store(), slug, reason=reason, limit=limit)
    columns = ["id", "receivedAt", "keyId", "reason", "message"]
    emit_rows("rejections", rows, columns, as_json=json_out)


@rejections_app.command("replay")
@handle_errors
def rejections_replay(slug: str, reason: ReasonOpt = None, json_out: JsonOpt = False) -> None:
    """Run pending rejected logs through ingestion again (after registering the device,
    adding the employee, ...). The window is judged as of now."""
    settings = Settings()
    limits = Limits(
        max_logs=settings.max_logs_per_request,
        rejected_retention_days=settings.rejected_retention_days,
        rejected_max_per_tenant=settings.rejected_max_per_tenant,
    )
    result = rejections.replay_rejections(open_store(), slug, reason=reason, limits=limits)
    emit_object(result.to_dict(), as_json=json_out, title="replayed")
