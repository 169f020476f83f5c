"""API keys: issue (shown once), list, revoke, and authenticate a presented key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from punchlog.domain import keys as key_format
from punchlog.domain.logs import Policy
from punchlog.errors import Forbidden, InvalidInput, InvalidKey, MissingKey, NotFound
from punchlog.services import audit
from punchlog.services.registry import Registry
from punchlog.services.store import Store, utcnow
from punchlog.services.tenants import check_length, policy_of, require_tenant
from punchlog.storage import keys as key_rows


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: str  # the only time the raw key exists outside the client
    id: str
    tenant: str
    scope: str
    label: str
    expires_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "id": self.id,
            "tenant": self.tenant,
            "scope": self.scope,
            "label": self.label,
            "expiresAt": self.expires_at.isoformat() if self.expires_at else None,
        }


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key, its tenant and scope, and the tenant's ingestion policy."""

    key_id: int
    key_public_id: str
    tenant_id: int
    tenant_slug: str
    scope: str
    policy: Policy
    registry_version: int = -1  # the tenant's registry version the key row was read at
    rate_limit_per_second: float | None = None  # the tenant's; None: the server's default
    rate_limit_burst: int | None = None

    def require(self, grant: str) -> None:
        if grant not in key_format.GRANTS[self.scope]:
            raise Forbidden(f"This API key (scope {self.scope!r}) may not {_VERBS[grant]}")


_VERBS = {"ingest": "push logs", "read": "read data", "admin": "manage the tenant"}


def _new_public_id() -> str:
    alphabet = key_format.PUBLIC_ALPHABET
    return "".join(secrets.choice(alphabet) for _ in range(key_format.PUBLIC_ID_LENGTH))


def _new_secret() -> str:
    alphabet = key_format.BASE62
    return "".join(secrets.choice(alphabet) for _ in range(key_format.SECRET_LENGTH))


def issue_key(
    store: Store,
    slug: str,
    *,
    scope: str = "ingest",
    label: str = "",
    expires_at: datetime | None = None,
) -> IssuedKey:
    if scope not in key_format.SCOPES:
        raise InvalidInput(f"Unknown scope {scope!r}: use one of {', '.join(key_format.SCOPES)}")
    check_length("Key label", label)
    public_id = _new_public_id()
    raw = key_format.format_key(public_id, _new_secret())
    with store.write() as conn:
        tenant = require_tenant(conn, slug)
        key_rows.insert_key(
            conn,
            tenant_id=tenant.id,
            public_id=public_id,
            key_hash=key_format.hash_key(raw),
            scope=scope,
            label=label,
            now=utcnow(),
            expires_at=expires_at,
        )
        audit.record(
            conn, tenant.id, "key.issue", public_id, scope=scope, label=label, expiresAt=expires_at
        )
    return IssuedKey(raw, public_id, slug, scope, label, expires_at)


def key_to_dict(row: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": row["public_id"],
        "scope": row["scope"],
        "label": row["label"],
        "createdAt": iso(row["created_at"]),
        "expiresAt": iso(row["expires_at"]),
        "revokedAt": iso(row["revoked_at"]),
        "lastUsedAt": iso(row["last_used_at"]),
        "active": row["revoked_at"] is None,
    }


def list_keys(store: Store, slug: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        tenant = require_tenant(conn, slug)
        return [key_to_dict(row) for row in key_rows.list_keys(conn, tenant_id=tenant.id)]


def revoke_key(store: Store, key_id: str, *, tenant_id: int | None = None) -> dict[str, Any]:
    """Revoke by public id; with ``tenant_id``, only a key of that tenant (admin API)."""
    with store.write() as conn:
        row = key_rows.get_key(conn, public_id=key_id, tenant_id=tenant_id)
        if row is None:
            raise NotFound(f"Unknown key {key_id!r}")
        key_rows.revoke_key(conn, key_id=row["id"], now=utcnow())
        audit.record(conn, row["tenant_id"], "key.revoke", key_id, scope=row["scope"])
        revoked = key_rows.get_key(conn, public_id=key_id)
        assert revoked is not None
        return key_to_dict(revoked)


# Where a key row (a dict, cached by services.registry) keeps the Principal built from it.
_BUILT = "_principal"


def _principal_of(row: dict[str, Any] | None, digest: str, now: datetime) -> Principal:
    """Unknown, malformed, revoked and expired keys all raise the same :class:`InvalidKey`;
    the hash is compared in constant time."""
    if row is None or not key_format.digests_match(row["key_hash"], digest):
        raise InvalidKey()
    check_key_state(row, now)
    built: Principal | None = row.get(_BUILT)
    if built is not None:  # a cached row: its principal was built once
        return built
    row[_BUILT] = principal = Principal(
        key_id=row["id"],
        key_public_id=row["public_id"],
        tenant_id=row["tenant_id"],
        tenant_slug=row["tenant_slug"],
        scope=row["scope"],
        policy=policy_of_key_row(row),
        registry_version=row["registry_version"],
        rate_limit_per_second=row.get("rate_limit_per_second"),
        rate_limit_burst=row.get("rate_limit_burst"),
    )
    return principal


def check_key_state(row: dict[str, Any], now: datetime) -> None:
    if row["revoked_at"] is not None or (
        row["expires_at"] is not None and row["expires_at"] <= now
    ):
        raise InvalidKey()


def policy_of_key_row(row: dict[str, Any]) -> Policy:
    return policy_of(
        timezone=row["tenant_timezone"],
        backdate_days=row["backdate_days"],
        future_tolerance_seconds=row["future_tolerance_seconds"],
        unknown_employees=row["unknown_employees"],
    )


def _parse(presented: str | None) -> key_format.ParsedKey:
    if presented is None or presented == "":
        raise MissingKey()
    parsed = key_format.parse_key(presented.strip())
    if parsed is None:
        raise InvalidKey()
    return parsed


def cached_principal(store: Store, presented: str | None, *, now: datetime) -> Principal | None:
    """The principal from this process's cache, without I/O; ``None`` when the key is not
    cached (then :func:`authenticate`). Only for a caller that confirms the key inside its
    own transaction (:func:`confirm_key`): the cache may be older than a revocation."""
    parsed = _parse(presented)
    row = store.registry.key(parsed.public_id)
    if row is None:
        return None
    return _principal_of(row, parsed.digest, now)


def authenticate(store: Store, presented: str | None, *, now: datetime) -> Principal:
    """The principal of a presented key, read from the database (and cached for
    :func:`cached_principal`)."""
    parsed = _parse(presented)
    with store.read() as conn:
        found = key_rows.find_key_with_tenant(conn, public_id=parsed.public_id)
    row = dict(found) if found is not None else None
    if row is not None:
        store.registry.remember_key(row)
    return _principal_of(row, parsed.digest, now)


def confirm_key(
    registry: Registry, conn: Connection, principal: Principal, version: int, *, now: datetime
) -> Policy:
    """Inside an ingest transaction, with the tenant's current registry ``version``: the key
    is still valid (else :class:`InvalidKey`), and the tenant's current ingestion policy."""
    if version == principal.registry_version:
        return principal.policy
    found = key_rows.find_key_with_tenant(conn, public_id=principal.key_public_id)
    if found is None:
        registry.forget_key(principal.key_public_id)
        raise InvalidKey()
    row = dict(found)
    registry.remember_key(row)
    check_key_state(row, now)
    return policy_of_key_row(row)
