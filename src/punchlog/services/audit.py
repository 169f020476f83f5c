"""The audit log: every change to a tenant's keys, devices, employees, settings and
corrections, with who made it, written in the transaction of the change.

Who is acting is set once per entry point: the CLI sets ``cli:<OS user>`` (cli.main), an
admin API request ``key:<key id>`` (api.context). Nothing secret is recorded: a key's id,
never the key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import orjson
from sqlalchemy import Connection

from punchlog.errors import InvalidInput
from punchlog.services.store import Store, utcnow
from punchlog.services.tenants import require_tenant
from punchlog.storage import audit as audit_rows

ACTOR: ContextVar[str] = ContextVar("punchlog_actor", default="system")
MAX_LIST = 10_000


def act_as(actor: str) -> None:
    """Who makes the changes from here on, in this context (a CLI run, an API request)."""
    ACTOR.set(actor)


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    token = ACTOR.set(actor)
    try:
        yield
    finally:
        ACTOR.reset(token)


def record(conn: Connection, tenant_id: int, action: str, target: str, **details: Any) -> None:
    """One entry, in ``conn``'s transaction: it commits, or rolls back, with the change."""
    audit_rows.add_entry(
        conn,
        tenant_id=tenant_id,
        at=utcnow(),
        actor=ACTOR.get(),
        action=action,
        target=str(target),
        details=orjson.dumps(details, default=str).decode(),
    )


def entry_to_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "at": row["at"].isoformat(),
        "actor": row["actor"],
        "action": row["action"],
        "target": row["target"],
        "details": orjson.loads(row["details"]),
    }


def list_entries(store: Store, slug: str, *, limit: int = 100) -> list[dict[str, Any]]:
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIST}")
    with store.read() as conn:
        tenant = require_tenant(conn, slug)
        rows = audit_rows.list_entries(conn, tenant_id=tenant.id, limit=limit)
        return [entry_to_dict(r) for r in rows]
