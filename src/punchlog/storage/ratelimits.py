"""Token buckets shared by every server process (PostgreSQL): one row per API key."""

from __future__ import annotations

from sqlalchemy import Connection, text

# One statement: refill the bucket for the time since it was last touched (capped at the
# burst), take a token if there is a whole one, and say whether it was taken. Every SET
# expression sees the row as it was, and statement_timestamp() is one instant per statement.
_AVAILABLE = (
    "LEAST(CAST(:burst AS double precision), "
    "b.tokens + EXTRACT(EPOCH FROM statement_timestamp() - b.refreshed_at) * :rate)"
)
_TAKE = text(
    f"""
    INSERT INTO rate_buckets AS b (key_id, tokens, refreshed_at, taken)
    VALUES (:key_id, :burst - 1, statement_timestamp(), true)
    ON CONFLICT (key_id) DO UPDATE SET
        tokens = CASE WHEN {_AVAILABLE} >= 1 THEN {_AVAILABLE} - 1 ELSE {_AVAILABLE} END,
        taken = {_AVAILABLE} >= 1,
        refreshed_at = statement_timestamp()
    RETURNING b.tokens, b.taken
    """
)


def take_token(conn: Connection, *, key_id: int, rate: float, burst: int) -> tuple[float, bool]:
    """(tokens left, whether this request got one) for ``key_id``'s bucket."""
    row = conn.execute(_TAKE, {"key_id": key_id, "rate": rate, "burst": burst}).one()
    return float(row[0]), bool(row[1])
