"""``punchlog key ...``"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

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
from punchlog.services import keys

app = typer.Typer(help="API keys: issue (shown once), list, revoke.", no_args_is_help=True)


@app.command("issue")
@handle_errors
def issue(
    slug: str,
    scope: Annotated[str, typer.Option(help="ingest (push only), read, or admin.")] = "ingest",
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
    expires: Annotated[
        str | None, typer.Option(help="Expiry, ISO 8601 with offset (e.g. 2027-01-01T00:00Z).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Issue a key. It is printed once; only its hash is stored."""
    expires_at = None
    if expires is not None:
        try:
            expires_at = datetime.fromisoformat(expires)
        except ValueError as exc:
            raise InvalidInput(f"Invalid expiry {expires!r}") from exc
        if expires_at.tzinfo is None:
            raise InvalidInput("Expiry needs an offset, e.g. 2027-01-01T00:00+00:00")
    issued = keys.issue_key(open_store(), slug, scope=scope, label=label, expires_at=expires_at)
    if json_out:
        emit_json(issued.to_dict())
        return
    print(issued.key, flush=True)  # plain: never wrapped or styled
    console.print(
        f"[dim]id {issued.id}, scope {issued.scope}, tenant {issued.tenant} — "
        "store it now: it is not shown again[/dim]"
    )


@app.command("list")
@handle_errors
def list_(slug: str, json_out: JsonOpt = False) -> None:
    """List a tenant's keys (never the keys themselves)."""
    rows = keys.list_keys(open_store(), slug)
    emit_rows(
        "keys",
        rows,
        ["id", "scope", "label", "active", "createdAt", "lastUsedAt", "expiresAt"],
        as_json=json_out,
    )


@app.command("revoke")
@handle_errors
def revoke(key_id: str, json_out: JsonOpt = False) -> None:
    """Revoke a key by its id; it stops working on the next request."""
    emit_object(keys.revoke_key(open_store(), key_id), as_json=json_out, title="key revoked")
