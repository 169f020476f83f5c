"""SQLite: datetimes as integer microseconds since the epoch instead of 26-character text

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 10:40:00

The columns keep their declared type (``DATETIME``, numeric affinity, which stores integers
as integers); only the values change (storage.types). PostgreSQL is untouched. Every row of a
table with a datetime column is rewritten once, in the migration's one transaction.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Every datetime column at this revision (frozen here: later tables are born with integers).
COLUMNS = {
    "tenants": ("created_at",),
    "api_keys": ("created_at", "expires_at", "revoked_at", "last_used_at"),
    "audit_log": ("at",),
    "devices": ("created_at", "last_seen_at"),
    "employees": ("created_at", "updated_at"),
    "shifts": ("created_at",),
    "attendance_days": ("first_in", "last_out", "window_end", "computed_at"),
    "idempotency_keys": ("created_at",),
    "ingest_requests": ("received_at",),
    "rate_buckets": ("refreshed_at",),
    "rejected_logs": ("received_at", "replayed_at"),
    "shift_assignments": ("created_at",),
    "punches": ("punched_at", "local_time", "received_at"),
    "corrections": ("created_at",),
}

# 'YYYY-MM-DD HH:MM:SS[.ffffff]' (SQLAlchemy's format; naive, UTC for instants): whole seconds
# from strftime on the first 19 characters (exact for any year), plus the microseconds.
_TO_MICROS = (
    "CAST(strftime('%s', substr({c}, 1, 19)) AS INTEGER) * 1000000"
    " + CAST(substr({c}, 21, 6) AS INTEGER)"
)
# Back: floor division, so instants before 1970 come back right too.
_FRACTION = "(({c} % 1000000) + 1000000) % 1000000"
_TO_TEXT = (
    "strftime('%Y-%m-%d %H:%M:%S', ({c} - " + _FRACTION + ") / 1000000, 'unixepoch')"
    " || '.' || printf('%06d', " + _FRACTION + ")"
)


def _check_text_format() -> None:
    """Refuse, before changing anything, text this migration would misread: SQLAlchemy wrote
    19 or 26 characters, without an offset; anything else was put there by hand."""
    bind = op.get_bind()
    for table, columns in COLUMNS.items():
        for column in columns:
            odd = bind.exec_driver_sql(
                f"SELECT {column} FROM {table} WHERE typeof({column}) = 'text'"
                f" AND (length({column}) NOT IN (19, 26) OR {column} GLOB '*[+Z]*')"
                " LIMIT 1"
            ).scalar()
            if odd is not None:
                raise ValueError(
                    f"{table}.{column} holds {odd!r}, not a datetime as punchlog writes it"
                    " (YYYY-MM-DD HH:MM:SS[.ffffff], UTC): correct it, then upgrade again"
                )


def _convert(expression: str, stored_as: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    if stored_as == "text":
        _check_text_format()
    for table, columns in COLUMNS.items():
        for column in columns:
            value = expression.format(c=column)
            op.execute(
                f"UPDATE {table} SET {column} = {value} WHERE typeof({column}) = '{stored_as}'"
            )


def upgrade() -> None:
    _convert(_TO_MICROS, "text")


def downgrade() -> None:
    _convert(_TO_TEXT, "integer")
