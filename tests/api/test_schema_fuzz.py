"""Schemathesis against the served OpenAPI schema: every operation, with generated inputs
(valid and not), answered without a 5xx and, when refused, in the documented envelope."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from punchlog.api.app import create_app
from punchlog.settings import Settings
from tests.support.world import World

# The schema is static: read it from an app that never opens its database.
_NEVER_OPENED = Path(tempfile.gettempdir()) / "punchlog-schema-only.db"
SCHEMA = create_app(Settings(database_url=f"sqlite:///{_NEVER_OPENED}")).openapi()
schema = schemathesis.openapi.from_dict(SCHEMA)


def _send(client: TestClient, case: Any, key: str) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    headers = {**(kwargs.get("headers") or {}), "X-API-Key": key}
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        body["content"] = data if isinstance(data, bytes | str) else str(data)
    return client.request(
        kwargs["method"],
        kwargs["url"],
        headers=headers,
        params=kwargs.get("params"),
        **body,
    )


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "30")),  # make soak: many more
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_5xx_or_leaves_the_envelope(
    case: Any, make_client: Any, world: World
) -> None:
    client: TestClient = make_client(rate_limit_per_second=0)
    key = world.ingest_key if case.path == "/v1/logs" else world.admin_key
    response = _send(client, case, key)
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert body["succeeded"] is False, body
        assert body["errors"], body
        assert all(isinstance(m, str) and m for m in body["errors"]), body
