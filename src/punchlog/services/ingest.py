"""The hot path: judge a batch of logs, store the good ones exactly once, keep the rejected.

One write transaction per batch. A 200 is only rendered after it has committed; any storage
failure raises :class:`~punchlog.errors.StorageUnavailable` and nothing is acknowledged.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection

from punchlog.domain.logs import NaturalKey, Policy, Rejection
from punchlog.errors import InvalidKey, RequestRejected
from punchlog.services import idempotency
from punchlog.services.idempotency import Claim
from punchlog.services.keys import Principal, confirm_key
from punchlog.services.registry import TOUCH_INTERVAL, Registry
from punchlog.services.store import Store
from punchlog.services.verdicts import (
    DUPLICATE,
    NEW,
    UNMATCHED,
    Batch,
    UsualBatch,
    Verdict,
    judge_ahead,
    judge_fast,
    judge_in,
)
from punchlog.storage import devices as device_rows
from punchlog.storage import keys as key_rows
from punchlog.storage import punches as punch_rows
from punchlog.storage import registry as registry_rows
from punchlog.storage import rejections as rejection_rows
from punchlog.storage import requests as request_rows

ACCEPTED_OUTCOMES = frozenset({NEW, DUPLICATE, UNMATCHED})


@dataclass(frozen=True, slots=True)
class Limits:
    max_logs: int = 1000
    rejected_retention_days: int = 90
    rejected_max_per_tenant: int = 100_000


@dataclass(frozen=True, slots=True)
class Sender:
    """Whose batch this is: tenant, key (None for an operator's replay), request id."""

    tenant_id: int
    key_id: int | None
    request_id: str
    policy: Policy
    source: str = "api"
    keep_rejections: bool = True  # False when replaying rejections: their rows are updated
    # The calling key, when it came from the process cache: confirmed inside the transaction.
    principal: Principal | None = None


@dataclass(slots=True)
class IngestResult:
    outcomes: list[str]
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def received(self) -> int:
        return len(self.outcomes)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o == outcome)

    @property
    def accepted(self) -> int:
        return sum(1 for o in self.outcomes if o in ACCEPTED_OUTCOMES)

    def to_wire(self) -> dict[str, Any]:
        """The ``data`` of the 200 answer: Keka's two counts first, our extensions after."""
        counts = Counter(self.outcomes)
        return {
            "logsReceived": self.received,
            "logsAccepted": counts[NEW] + counts[DUPLICATE] + counts[UNMATCHED],
            "logsDuplicate": counts[DUPLICATE],
            "logsUnmatched": counts[UNMATCHED],
            "logsRejected": len(self.rejections),
            "rejected": [
                {"index": r.index, "reason": r.reason, "message": r.message}
                for r in self.rejections
            ],
        }


def check_batch_size(items: object, limits: Limits) -> Sequence[object]:
    """The request-level rules of the body: an array, not empty, not over the limit."""
    if not isinstance(items, list | UsualBatch):
        raise RequestRejected("Request body must be a JSON array of logs")
    if not items:
        raise RequestRejected("Request body is an empty array; send at least one log")
    if len(items) > limits.max_logs:
        raise RequestRejected(
            f"Too many logs in one request: at most {limits.max_logs} allowed, "
            f"{len(items)} received"
        )
    return items


def answer_body(wire: dict[str, Any]) -> bytes:
    """The 200 answer's body from :meth:`IngestResult.to_wire` (also what an
    Idempotency-Key replays: one builder, the same bytes)."""
    return orjson.dumps({"data": wire, "succeeded": True})


def ingest_batch(
    store: Store,
    sender: Sender,
    items: Sequence[object],
    *,
    now: datetime,
    limits: Limits,
    claim: Claim | None = None,
) -> IngestResult:
    """Judge and store ``items``; retried whole on a PostgreSQL deadlock. With an
    Idempotency-Key ``claim``, its answer is recorded in the same transaction."""
    return store.write_with_retry(_work(store, sender, items, now=now, limits=limits, claim=claim))


async def ingest_grouped(
    store: Store,
    sender: Sender,
    items: Sequence[object],
    *,
    now: datetime,
    limits: Limits,
    claim: Claim | None = None,
) -> IngestResult:
    """:func:`ingest_batch` for an async caller when the store groups commits. The batch is
    judged here, on the caller's thread, where the cache allows (services.verdicts): the
    writer thread only stores it."""
    work = _work(store, sender, items, now=now, limits=limits, claim=claim)
    return await store.write_grouped(work)


def _work(
    store: Store,
    sender: Sender,
    items: Sequence[object],
    *,
    now: datetime,
    limits: Limits,
    claim: Claim | None = None,
) -> Callable[[Connection], IngestResult]:
    batch = Batch(sender.tenant_id, sender.source, now, store.engine.dialect.name)
    ahead = None
    if sender.principal is not None:  # a key from the cache: its version labels the policy
        version = sender.principal.registry_version
        if isinstance(items, UsualBatch):
            ahead = judge_fast(store.registry, batch, items.logs, sender.policy, version)
        if ahead is None:
            ahead = judge_ahead(store.registry, batch, items, sender.policy, version)

    def work(conn: Connection) -> IngestResult:
        result = ingest_in(
            conn, sender, items, now=now, limits=limits, registry=store.registry, ahead=ahead
        )
        if claim is not None:
            body = answer_body(result.to_wire())
            idempotency.finish(conn, claim, status_code=200, body=body)
        return result

    return work


def ingest_in(
    conn: Connection,
    sender: Sender,
    items: Sequence[object],
    *,
    now: datetime,
    limits: Limits,
    registry: Registry,
    ahead: Verdict | None = None,
) -> IngestResult:
    """The batch inside the caller's write transaction (ingest and replay share it). An
    ``ahead`` verdict is stored as it is if it was reached at the version read here."""
    tenant_id = sender.tenant_id
    # The arrivals lock (shared, storage.punches.lock_arrivals) and the registry version in
    # one round trip; then anything cached against that version (services.registry).
    version = registry_rows.version(conn, tenant_id=tenant_id, lock_arrivals=True)
    if version is None:
        raise InvalidKey()  # the tenant is gone
    policy = sender.policy
    if sender.principal is not None:
        policy = confirm_key(registry, conn, sender.principal, version, now=now)
    verdict = ahead
    if verdict is None or verdict.version != version or verdict.policy is not policy:
        batch = Batch(tenant_id, sender.source, now, conn.dialect.name)
        verdict = judge_in(conn, registry, batch, items, policy, version)
    result = _store(conn, sender, verdict, received=len(items), now=now)
    if verdict.rejections and sender.keep_rejections:
        _keep_rejections(conn, sender, items, verdict.rejections, now=now, limits=limits)
    due = registry.due_for_touch("device", verdict.device_ids, now)
    if due:
        device_rows.touch_devices(conn, device_ids=due, now=now, older_than=now - TOUCH_INTERVAL)
    if sender.key_id is not None and registry.due_for_touch("key", (sender.key_id,), now):
        key_rows.touch_key(conn, key_id=sender.key_id, now=now, older_than=now - TOUCH_INTERVAL)
    return result


def _store(
    conn: Connection, sender: Sender, verdict: Verdict, *, received: int, now: datetime
) -> IngestResult:
    """The request row and the kept punches; each kept log's outcome from what the database
    already had."""
    rejected = len(verdict.rejections)
    # Written once with the counts of the usual case (every kept log new); corrected below
    # only when some were stored already.
    request = request_rows.open_values(
        conn,
        tenant_id=sender.tenant_id,
        key_id=sender.key_id,
        request_id=sender.request_id,
        received=received,
        accepted=received - rejected,
        duplicate=verdict.in_batch_duplicates,
        unmatched=verdict.held,
        rejected=rejected,
        now=now,
    )
    request_row, count = punch_rows.insert_with_request(conn, verdict.punches, request)
    if count == verdict.punches.count:  # every kept log is new
        return IngestResult(outcomes=verdict.outcomes, rejections=verdict.rejections)
    outcomes = verdict.outcomes.copy()
    inserted: set[NaturalKey] = set()
    if count > 0:  # some were stored already: which did this request insert?
        inserted = punch_rows.keys_inserted_by(
            conn,
            tenant_id=sender.tenant_id,
            request_row=request_row,
            instants={key[2] for _, key in verdict.kept},
        )
    for index, key in verdict.kept:
        if count == 0 or key not in inserted:
            outcomes[index] = DUPLICATE
    result = IngestResult(outcomes=outcomes, rejections=verdict.rejections)
    request_rows.close_request(
        conn,
        row_id=request_row,
        accepted=result.accepted,
        duplicate=result.count(DUPLICATE),
        unmatched=result.count(UNMATCHED),
        rejected=rejected,
    )
    return result


def kept_json(item: object) -> bytes:
    """A rejected item re-serialised as JSON, as received. orjson refuses integers beyond 64
    bits and nesting past 255 levels, which a body may hold (the standard library read it):
    then the standard library writes it; past its own recursion limit, a note stands in."""
    try:
        return orjson.dumps(item)
    except TypeError:
        pass
    try:
        return json.dumps(item, ensure_ascii=False).encode()
    except RecursionError:
        return orjson.dumps({"unkept": "the item is nested too deeply to keep"})


def _keep_rejections(
    conn: Connection,
    sender: Sender,
    items: Sequence[object],
    rejections: list[Rejection],
    *,
    now: datetime,
    limits: Limits,
) -> None:
    raws = {r.index: kept_json(items[r.index]) for r in rejections}
    rejection_rows.upsert_rejections(
        conn,
        rows=[
            {
                "tenant_id": sender.tenant_id,
                "key_id": sender.key_id,
                "request_id": sender.request_id,
                "position": r.index,
                "reason": r.reason,
                "message": r.message,
                "raw": raws[r.index].decode(),
                "fingerprint": hashlib.sha256(
                    r.reason.encode() + b"\0" + raws[r.index]
                ).hexdigest(),
                "received_at": now,
            }
            for r in rejections
        ],
    )
    rejection_rows.prune_rejections(
        conn,
        tenant_id=sender.tenant_id,
        older_than=now - timedelta(days=limits.rejected_retention_days),
        keep_at_most=limits.rejected_max_per_tenant,
    )
