"""HTTP fixtures: the app in process (TestClient) over the shared ``settings``/``store``/``world``,
so that every API test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from punchlog.api.app import create_app
from punchlog.services import tenants
from punchlog.services.store import Store
from punchlog.settings import Settings
from punchlog.storage import punches as punch_rows
from punchlog.storage.tables import ingest_requests, rejected_logs
from tests.support.world import World

MakeClient = Callable[..., TestClient]


@dataclass(frozen=True)
class Stored:
    """What one tenant has in the database: punches, request rows, kept rejections."""

    punches: int
    requests: int
    rejected: int


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store=store)) as the_client:
        yield the_client


@pytest.fixture
def make_client(settings: Settings, store: Store) -> Iterator[MakeClient]:
    """A client of an app built with some settings changed, e.g. ``max_body_bytes=1024``."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        tuned = Settings(**{**settings.model_dump(), **overrides})  # validated like the real one
        the_client = TestClient(create_app(tuned, store=store))
        the_client.__enter__()
        opened.append(the_client)
        return the_client

    yield make
    for the_client in opened:
        the_client.__exit__(None, None, None)


@pytest.fixture
def tenant_id(store: Store, world: World) -> int:
    return tenants.get_tenant(store, world.slug).id


@pytest.fixture
def stored(store: Store, tenant_id: int) -> Callable[[], Stored]:
    """A function returning what tenant ``acme`` has stored right now."""

    def count() -> Stored:
        with store.read() as conn:
            requests = conn.execute(
                select(func.count())
                .select_from(ingest_requests)
                .where(ingest_requests.c.tenant_id == tenant_id)
            ).scalar_one()
            rejected = conn.execute(
                select(func.count())
                .select_from(rejected_logs)
                .where(rejected_logs.c.tenant_id == tenant_id)
            ).scalar_one()
            return Stored(
                punches=punch_rows.count_punches(conn, tenant_id=tenant_id),
                requests=int(requests),
                rejected=int(rejected),
            )

    return count


@pytest.fixture
def ingest_headers(world: World) -> dict[str, str]:
    return {"X-API-Key": world.ingest_key, "Content-Type": "application/json"}


@pytest.fixture
def admin_headers(world: World) -> dict[str, str]:
    return {"X-API-Key": world.admin_key}
