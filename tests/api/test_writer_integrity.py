"""The SQLite group-commit writer stores punches with foreign-key checks off (see
services.groupcommit): after a load of every kind of log through it, SQLite's own
``foreign_key_check`` must find nothing, and every other connection still enforces them.
On PostgreSQL the constraints are always enforced, which the same load checks as it goes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from punchlog.services import employees
from punchlog.services.employees import EmployeeIn
from punchlog.services.store import Store
from tests.api.conftest import MakeClient
from tests.support.world import DEVICE, DEVICE_BERLIN, DEVICE_OFF, World, log

UNKNOWN_DEVICE = "99999999-0000-4000-8000-000000000000"


def _mixed_batch(round_: int) -> list[dict[str, object]]:
    return [
        log("E1", minutes_ago=100 + round_),  # new
        log("E2", device=DEVICE_BERLIN, minutes_ago=1000 + round_, status=1),  # new, own zone
        log("E1", minutes_ago=100 + round_),  # a repeat within the batch
        log("NEW7", minutes_ago=300 + round_),  # held: not registered yet
        log("E9", minutes_ago=400 + round_),  # rejected: has left
        log("E3", device=UNKNOWN_DEVICE, minutes_ago=500 + round_),  # rejected or held device
        log("E3", device=DEVICE_OFF, minutes_ago=600 + round_),  # rejected: device disabled
        {"DeviceIdentifier": DEVICE, "Timestamp": "not a time"},  # rejected: malformed
    ]


def test_a_mixed_load_through_the_writer_leaves_no_dangling_reference(
    store: Store, world: World, client: TestClient, make_client: MakeClient
) -> None:
    headers = {"X-API-Key": world.ingest_key}
    for round_ in range(5):
        answer = client.post("/v1/logs", json=_mixed_batch(round_), headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["logsReceived"] == 8
        again = client.post(  # an Idempotency-Key request, then its replay
            "/v1/logs",
            json=[log("E2", minutes_ago=700 + round_)],
            headers={**headers, "Idempotency-Key": f"k-{round_}"},
        )
        assert again.status_code == 200, again.text
    employees.upsert_employees(store, world.slug, [EmployeeIn("NEW7", "Late")])  # attaches
    answer = client.post("/v1/logs", json=_mixed_batch(9), headers=headers)
    assert answer.status_code == 200, answer.text
    with store.read() as conn:
        punches = conn.execute(text("SELECT count(*) FROM punches")).scalar_one()
        assert punches == 6 * 3 + 5  # E1, E2, NEW7 a batch; 5 Idempotency-Key requests
        if store.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # readers: on
    with store.write() as conn:
        if store.is_sqlite:  # an ordinary writer (CLI, admin API) keeps the checks
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_only_the_group_commit_writer_skips_foreign_key_checks(store: Store) -> None:
    if store.committer is None:  # PostgreSQL: no group committer, constraints always on
        with store.write() as conn:
            assert conn.exec_driver_sql("SHOW session_replication_role").scalar() == "origin"
        return
    seen = store.committer.run(lambda conn: conn.exec_driver_sql("PRAGMA foreign_keys").scalar())
    assert seen == 0
    with store.write() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # What the check after a load would catch: a row whose tenant and device do not exist,
    # which the writer (unlike any other connection) lets in.
    dangling = (
        "INSERT INTO punches (tenant_id, punched_at, employee_number, device_id, status,"
        " local_time, source, received_at) VALUES (1, 0, 'E1', 424242, 0, 0, 'api', 0)"
    )
    with pytest.raises(IntegrityError), store.write() as conn:
        conn.exec_driver_sql(dangling)
    store.committer.run(lambda conn: conn.exec_driver_sql(dangling))
    with store.read() as conn:
        found = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    assert sorted((row[0], row[2]) for row in found) == [
        ("punches", "devices"),
        ("punches", "tenants"),
    ]
