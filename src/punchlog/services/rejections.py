"""Rejected logs: list them, and replay them through ingestion once the cause is fixed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from punchlog.domain.logs import REASONS
from punchlog.errors import InvalidInput
from punchlog.services.ingest import ACCEPTED_OUTCOMES, Limits, Sender, ingest_in
from punchlog.services.store import Store, utcnow
from punchlog.services.tenants import require_tenant
from punchlog.storage import rejections as rejection_rows


@dataclass(frozen=True, slots=True)
class ReplayResult:
    replayed: int
    accepted: int
    still_rejected: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "replayed": self.replayed,
            "accepted": self.accepted,
            "stillRejected": self.still_rejected,
        }


def _check_reason(reason: str | None) -> None:
    if reason is not None and reason not in REASONS:
        raise InvalidInput(f"Unknown reason {reason!r}: use one of {', '.join(REASONS)}")


def rejection_to_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "requestId": row["request_id"],
        "index": row["position"],
        "reason": row["reason"],
        "message": row["message"],
        "raw": orjson.loads(row["raw"]),
        "occurrences": row["occurrences"],
        "keyId": row["key_id"],
        "receivedAt": row["received_at"].isoformat(),
        "replayedAt": row["replayed_at"].isoformat() if row["replayed_at"] else None,
        "replayOutcome": row["replay_outcome"],
    }


def list_rejections(
    store: Store, slug: str, *, reason: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    _check_reason(reason)
    with store.read() as conn:
        tenant = require_tenant(conn, slug)
        rows = rejection_rows.list_rejections(
            conn, tenant_id=tenant.id, reason=reason, pending_only=True, limit=limit
        )
        return [rejection_to_dict(r) for r in rows]


def replay_rejections(
    store: Store, slug: str, *, reason: str | None = None, limits: Limits | None = None
) -> ReplayResult:
    """Run pending rejected logs through ingestion again, in batches, as of now.

    A log now accepted (stored, duplicate or held) is marked replayed with that outcome; one
    rejected again stays pending with its new reason and message.
    """
    _check_reason(reason)
    limits = limits or Limits()
    replayed = accepted = 0
    still: dict[str, int] = {}
    with store.read() as conn:
        tenant = require_tenant(conn, slug)
        pending = rejection_rows.list_rejections(
            conn, tenant_id=tenant.id, reason=reason, pending_only=True
        )
    policy = tenant.policy()
    batch_size = max(1, limits.max_logs)
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        sender = Sender(
            tenant_id=tenant.id,
            key_id=None,
            request_id=f"replay-{uuid.uuid4().hex}",
            policy=policy,
            source="replay",
            keep_rejections=False,
        )
        items = [orjson.loads(r["raw"]) for r in batch]
        now = utcnow()
        with store.write() as conn:
            result = ingest_in(conn, sender, items, now=now, limits=limits, registry=store.registry)
            by_index = {r.index: r for r in result.rejections}
            for position, row in enumerate(batch):
                outcome = result.outcomes[position]
                if outcome in ACCEPTED_OUTCOMES:
                    accepted += 1
                    rejection_rows.record_replay(
                        conn, tenant_id=tenant.id, rejection_id=row["id"], now=now, outcome=outcome
                    )
                else:
                    still[outcome] = still.get(outcome, 0) + 1
                    rejection_rows.record_replay(
                        conn,
                        tenant_id=tenant.id,
                        rejection_id=row["id"],
                        now=now,
                        outcome="rejected",
                        reason=outcome,
                        message=by_index[position].message,
                    )
        replayed += len(batch)
    return ReplayResult(replayed=replayed, accepted=accepted, still_rejected=still)
