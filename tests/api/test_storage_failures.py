"""When the database cannot commit, the answer is 503 in the envelope: never a 200 for logs that
are not durably stored, never a 500 with a trace."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from punchlog.api.app import create_app
from punchlog.services.store import Store
from punchlog.settings import Settings
from punchlog.storage import punches as punch_rows
from punchlog.storage.database import build_engine
from punchlog.storage.tables import tenants
from tests.support.world import World, log


def test_a_commit_that_cannot_happen_is_a_503_and_stores_nothing(
    settings: Settings, store: Store, world: World
) -> None:
    if not store.is_sqlite:
        # PostgreSQL: an unreachable server is the failure to provoke.
        broken = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/none")
        with TestClient(create_app(broken)) as client:
            answer = client.post("/v1/logs", json=[log()], headers={"X-API-Key": world.ingest_key})
            ready = client.get("/readyz")
            alive = client.get("/healthz")
        assert answer.status_code == 503
        assert answer.json() == {"errors": ["Storage unavailable; retry later"], "succeeded": False}
        assert answer.headers["retry-after"] == "1"
        assert ready.status_code == 503  # not ready: take it out of the load balancer
        assert ready.json() == {"errors": ["Storage unavailable"], "succeeded": False}
        assert ready.headers["retry-after"] == "1"
        assert alive.status_code == 200  # but alive: no restart for a database outage
        return

    impatient = Settings(database_url=settings.database_url, sqlite_busy_timeout_ms=100)
    holder = build_engine(settings.database_url)
    try:
        with TestClient(create_app(impatient)) as client, holder.begin() as conn:
            conn.execute(tenants.select())  # BEGIN IMMEDIATE: we hold the write lock
            answer = client.post("/v1/logs", json=[log()], headers={"X-API-Key": world.ingest_key})
        assert answer.status_code == 503
        assert answer.json()["succeeded"] is False
        assert "Traceback" not in answer.text
        assert answer.headers["x-request-id"]
    finally:
        holder.dispose()
    with store.read() as conn:
        tenant_id = conn.execute(tenants.select()).mappings().one()["id"]
        assert punch_rows.count_punches(conn, tenant_id=tenant_id) == 0


def test_a_lock_held_too_long_is_a_503_within_the_timeout_not_a_hang(
    settings: Settings, store: Store, world: World
) -> None:
    """Another transaction holds what an ingest needs (the tenant's arrivals lock, taken
    exclusively as the punch feed takes it): the request fails within the configured bound."""
    with store.read() as conn:
        tenant_id = conn.execute(tenants.select()).mappings().one()["id"]
    if store.is_sqlite:
        impatient = Settings(database_url=settings.database_url, sqlite_busy_timeout_ms=300)
    else:
        impatient = Settings(database_url=settings.database_url, statement_timeout_seconds=0.3)
    holder = build_engine(settings.database_url)
    try:
        with TestClient(create_app(impatient)) as client, holder.begin() as conn:
            punch_rows.lock_arrivals(conn, tenant_id=tenant_id, exclusive=True)
            started = time.monotonic()
            answer = client.post("/v1/logs", json=[log()], headers={"X-API-Key": world.ingest_key})
            waited = time.monotonic() - started
        assert answer.status_code == 503, answer.text
        assert answer.json() == {"errors": ["Storage unavailable; retry later"], "succeeded": False}
        assert waited < 5.0  # bounded: the 0.3 s timeout plus overhead, never a hang
    finally:
        holder.dispose()
    with store.read() as conn:
        assert punch_rows.count_punches(conn, tenant_id=tenant_id) == 0
