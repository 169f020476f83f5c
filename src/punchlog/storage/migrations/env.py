"""Alembic environment: runs on the connection handed in by ``punchlog.storage.migrate``."""

from __future__ import annotations

from alembic import context

from punchlog.storage.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - always driven through punchlog.storage.migrate
    raise RuntimeError("run migrations through `punchlog init`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite needs batch ALTERs; elsewhere batch mode emits plain ALTERs
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
