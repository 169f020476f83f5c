"""``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header) for ``POST /v1/logs``.

Keys are per API key. The first request with a key claims it (a committed ``pending`` row);
its answer is recorded in the same transaction as its punches, so the stored answer and the
stored logs exist together or not at all. For 24 hours a request with the same key and the
same body gets that answer again (``Idempotency-Replayed: true``), one with a different body
is 422, and one while the first is still in progress is 409. A request that fails releases
its claim (a retry runs afresh); a claim left by a crashed process is taken over after
:data:`ABANDONED_AFTER`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from punchlog.errors import Conflict, RequestRejected
from punchlog.services.store import Store
from punchlog.storage import idempotency as rows

KEPT_FOR = timedelta(hours=24)
ABANDONED_AFTER = timedelta(seconds=60)
_SANE = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII


@dataclass(frozen=True, slots=True)
class Claim:
    row_id: int


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    body: bytes


def check_key(value: str) -> str:
    if _SANE.fullmatch(value) is None:
        raise RequestRejected("Idempotency-Key must be 1-255 visible ASCII characters")
    return value


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def begin(
    store: Store, *, key_id: int, idempotency_key: str, body: bytes, now: datetime
) -> Claim | Replay:
    """Claim ``idempotency_key`` for this request, or the stored answer to replay."""
    digest = fingerprint(body)
    with store.write() as conn:
        rows.purge(conn, key_id=key_id, older_than=now - KEPT_FOR)
        row_id = rows.try_claim(
            conn, key_id=key_id, idempotency_key=idempotency_key, fingerprint=digest, now=now
        )
        if row_id is not None:
            return Claim(row_id)
        row = rows.find(conn, key_id=key_id, idempotency_key=idempotency_key)
        assert row is not None  # purged rows are gone; this one conflicted in this transaction
        if row["fingerprint"] != digest:
            raise RequestRejected(
                "This Idempotency-Key was used with a different request body", 422
            )
        if row["state"] == "done":
            return Replay(int(row["status_code"]), str(row["response"]).encode())
        if rows.take_over(
            conn,
            row_id=row["id"],
            fingerprint=digest,
            now=now,
            stale_before=now - ABANDONED_AFTER,
        ):
            return Claim(row["id"])
    raise Conflict("A request with this Idempotency-Key is still in progress; retry later")


def finish(conn: Connection, claim: Claim, *, status_code: int, body: bytes) -> None:
    """Record the answer, inside the transaction that stores the request's logs."""
    rows.finish(conn, row_id=claim.row_id, status_code=status_code, response=body.decode())


def release(store: Store, claim: Claim) -> None:
    """The request failed: free the key for a retry."""
    with store.write() as conn:
        rows.release(conn, row_id=claim.row_id)
