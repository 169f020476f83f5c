"""The one schema source. Alembic migrations are generated from this metadata.

Punches arrive mostly in time order, so the natural key's unique index leads with
``(tenant_id, punched_at)``: new entries land at the right edge of the B-tree instead of
scattering across it, and time-range reads use the same index.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from punchlog.storage.types import UTCDateTime, WallDateTime

# BIGINT on PostgreSQL; INTEGER on SQLite so the column is the rowid (autoincrement).
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("backdate_days", Integer, nullable=False, server_default=text("30")),
    Column("future_tolerance_seconds", Integer, nullable=False, server_default=text("300")),
    Column("unknown_employees", String(8), nullable=False, server_default=text("'hold'")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("default_shift_id", ForeignKey("shifts.id", use_alter=True, ondelete="SET NULL")),
    # A punch with the same direction as the previous kept one this soon after it is a bounce.
    Column("bounce_seconds", Integer, nullable=False, server_default=text("60")),
    # Bumped by every change to the tenant's settings, keys, devices or employees: processes
    # cache those and check this one number inside each ingest transaction (storage.registry).
    Column("registry_version", BigInteger, nullable=False, server_default=text("0")),
    # Requests per second and burst allowed per key of this tenant; NULL: the server's default
    # (PUNCHLOG_RATE_LIMIT_PER_SECOND / _BURST). A rate of 0 turns limiting off.
    Column("rate_limit_per_second", Float),
    Column("rate_limit_burst", Integer),
    CheckConstraint("unknown_employees IN ('hold', 'reject')", name="unknown_employees"),
    CheckConstraint("backdate_days BETWEEN 1 AND 3650", name="backdate_days"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(16), nullable=False, unique=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("scope", String(8), nullable=False),
    Column("label", String(200), nullable=False, server_default=text("''")),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    CheckConstraint("scope IN ('ingest', 'read', 'admin')", name="scope"),
)

# One token bucket per API key, shared by every server process on PostgreSQL
# (storage.ratelimits); one process on SQLite keeps its buckets in memory instead.
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("key_id", ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("refreshed_at", UTCDateTime, nullable=False),
    Column("taken", Boolean, nullable=False),  # whether the last request got a token
)

# Idempotency-Key (IETF draft): per API key, the first request's body fingerprint and, once
# it committed, its answer (stored in the same transaction as its punches), for 24 hours.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("key_id", ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),  # SHA-256 of the body, hex
    Column("state", String(8), nullable=False),  # pending (in progress) or done
    Column("status_code", SmallInteger),
    Column("response", Text),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("key_id", "idempotency_key"),
    CheckConstraint("state IN ('pending', 'done')", name="state"),
)

# Who changed what, when: every change to keys, devices, employees, tenant settings and
# corrections, written in the transaction of the change (services.audit).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(128), nullable=False),  # key:<id> (admin API) or cli:<os user>
    Column("action", String(32), nullable=False),  # e.g. key.revoke, device.disable
    Column("target", String(255), nullable=False),
    Column("details", Text, nullable=False, server_default=text("'{}'")),  # JSON
    Index(None, "tenant_id", "id"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("identifier", String(128), nullable=False),
    Column("name", String(200), nullable=False, server_default=text("''")),
    Column("location", String(200), nullable=False, server_default=text("''")),
    Column("timezone", String(64)),
    Column("direction", String(4), nullable=False, server_default=text("'both'")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime),
    UniqueConstraint("tenant_id", "identifier"),
    CheckConstraint("direction IN ('both', 'in', 'out')", name="direction"),
)

employees = Table(
    "employees",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("number", String(64), nullable=False),
    Column("name", String(200), nullable=False, server_default=text("''")),
    Column("joined_on", Date),
    Column("left_on", Date),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "number"),
)

ingest_requests = Table(
    "ingest_requests",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("key_id", ForeignKey("api_keys.id", ondelete="SET NULL")),
    Column("request_id", String(128), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("logs_received", Integer, nullable=False),
    Column("logs_accepted", Integer, nullable=False),
    Column("logs_duplicate", Integer, nullable=False),
    Column("logs_unmatched", Integer, nullable=False),
    Column("logs_rejected", Integer, nullable=False),
    Index(None, "tenant_id", "received_at"),
)

punches = Table(
    "punches",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("punched_at", UTCDateTime, nullable=False),
    Column("employee_number", String(64), nullable=False),
    # NULL only for manual punches (corrections), which no device sent.
    Column("device_id", ForeignKey("devices.id")),
    Column("status", SmallInteger, nullable=False),
    # The wall time as the device sent it; its offset is local_time - punched_at.
    Column("local_time", WallDateTime, nullable=False),
    # NULL while the number matches no registered employee (held, "unmatched").
    Column("employee_id", ForeignKey("employees.id")),
    Column("source", String(16), nullable=False, server_default=text("'api'")),
    Column("request_id", ForeignKey("ingest_requests.id", ondelete="SET NULL")),
    Column("received_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "punched_at", "employee_number", "device_id", "status"),
    # Arrival order per tenant: the feed and the recompute read id > cursor (see
    # storage.punches.lock_arrivals for why no id is ever skipped).
    Index(None, "tenant_id", "id"),
    CheckConstraint("status IN (0, 1)", name="status"),
    Index(
        "ix_punches_unmatched",
        "tenant_id",
        "employee_number",
        sqlite_where=text("employee_id IS NULL"),
        postgresql_where=text("employee_id IS NULL"),
    ),
    # No per-employee index: one ordered by employee takes a page write per distinct
    # employee in every commit (it halved batch ingest on SQLite). The engine reads an
    # employee's punches through the natural key, a time range (storage.attendance).
)

rejected_logs = Table(
    "rejected_logs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("key_id", ForeignKey("api_keys.id", ondelete="SET NULL")),
    Column("request_id", String(128), nullable=False),
    Column("position", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("message", Text, nullable=False),
    # The item exactly as received, re-serialised as JSON text (TEXT, not jsonb: it may hold
    # anything a client sent, \u0000 included).
    Column("raw", Text, nullable=False),
    # SHA-256 of (reason, raw): a client resending the same bad log adds an occurrence, not a row.
    Column("fingerprint", String(64), nullable=False),
    Column("occurrences", Integer, nullable=False, server_default=text("1")),
    Column("received_at", UTCDateTime, nullable=False),
    Column("replayed_at", UTCDateTime),
    Column("replay_outcome", String(32)),
    UniqueConstraint("tenant_id", "fingerprint"),
    Index(None, "tenant_id", "reason", "id"),
    Index(None, "tenant_id", "received_at"),
)

shifts = Table(
    "shifts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name", String(200), nullable=False, server_default=text("''")),
    Column("start_time", String(5), nullable=False),  # HH:MM, tenant wall time
    Column("end_time", String(5), nullable=False),  # <= start: ends the next day
    Column("checkin_before_minutes", Integer, nullable=False, server_default=text("60")),
    Column("checkout_after_minutes", Integer, nullable=False, server_default=text("60")),
    Column("late_grace_minutes", Integer, nullable=False, server_default=text("0")),
    Column("early_grace_minutes", Integer, nullable=False, server_default=text("0")),
    Column("half_day_below_minutes", Integer),
    Column("absent_below_minutes", Integer),
    Column("hours_mode", String(16), nullable=False, server_default=text("'first_last'")),
    Column("weekly_offs", String(32), nullable=False, server_default=text("''")),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "code"),
    CheckConstraint("hours_mode IN ('first_last', 'pairs')", name="hours_mode"),
)

shift_assignments = Table(
    "shift_assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("employee_id", ForeignKey("employees.id", ondelete="CASCADE"), nullable=False),
    Column("shift_id", ForeignKey("shifts.id", ondelete="CASCADE"), nullable=False),
    Column("from_date", Date, nullable=False),
    Column("to_date", Date),  # inclusive; NULL: open-ended
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "employee_id", "from_date"),
    Index(None, "tenant_id", "shift_id"),
)

holidays = Table(
    "holidays",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("name", String(200), nullable=False, server_default=text("''")),
    UniqueConstraint("tenant_id", "day"),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("employee_id", ForeignKey("employees.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    # add_punch: the manual punch it created; exclude: the punch it takes out of the hours.
    Column("punch_id", ForeignKey("punches.id", ondelete="CASCADE"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('add_punch', 'exclude')", name="kind"),
    Index(None, "tenant_id", "employee_id"),
    Index(None, "punch_id"),
    # A punch is excluded at most once: the database says so, not a read-then-write check.
    Index(
        "uq_corrections_excluded_punch",
        "punch_id",
        unique=True,
        sqlite_where=text("kind = 'exclude'"),
        postgresql_where=text("kind = 'exclude'"),
    ),
)

attendance_days = Table(
    "attendance_days",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("employee_id", ForeignKey("employees.id", ondelete="CASCADE"), nullable=False),
    Column("employee_number", String(64), nullable=False),  # for ordered, paginated reads
    Column("work_date", Date, nullable=False),
    Column("day_type", String(16), nullable=False),
    Column("shift_code", String(32)),
    Column("first_in", UTCDateTime),
    Column("last_out", UTCDateTime),
    Column("gross_seconds", Integer, nullable=False),
    Column("effective_seconds", Integer, nullable=False),
    Column("break_seconds", Integer, nullable=False),
    Column("late_seconds", Integer, nullable=False),
    Column("early_seconds", Integer, nullable=False),
    Column("overtime_seconds", Integer, nullable=False),
    Column("status", String(16)),
    Column("window_end", UTCDateTime),  # provisional while now < window_end
    Column("punches", Text, nullable=False),  # JSON list, as the read API renders it
    Column("computed_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "employee_id", "work_date"),
    Index(None, "tenant_id", "employee_number", "work_date"),
    Index(None, "tenant_id", "work_date"),
)

# (employee, work date) pairs to recompute: written by changes other than ingest (corrections,
# assignments, shifts, holidays, attached held logs); ingest itself writes nothing here.
attendance_dirty = Table(
    "attendance_dirty",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("employee_id", ForeignKey("employees.id", ondelete="CASCADE"), primary_key=True),
    Column("work_date", Date, primary_key=True),
)

# Per tenant: how far the recompute has read the punches (in arrival order), and up to which
# date absent days have been filled in.
attendance_state = Table(
    "attendance_state",
    metadata,
    Column("tenant_id", ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("punch_id", BigInteger, nullable=False, server_default=text("0")),
    Column("filled_through", Date),
)
