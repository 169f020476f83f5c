"""``Idempotency-Key`` on ``POST /v1/logs``: replay within 24 h, 422 for another body, 409
while the first is in flight, and a failed request frees its key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import orjson
import pytest
from fastapi.testclient import TestClient

from punchlog.errors import StorageUnavailable
from punchlog.services import idempotency, keys
from punchlog.services import ingest as ingest_service
from punchlog.services.store import Store, utcnow
from tests.api.conftest import Stored
from tests.support.world import World, log

URL = "/v1/logs"


def _post(client: TestClient, key: str, body: bytes, idem: str | None) -> object:
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return client.post(URL, content=body, headers=headers)


def test_the_same_key_and_body_replays_the_first_answer_and_stores_nothing_more(
    client: TestClient, world: World, stored: Callable[[], Stored]
) -> None:
    body = orjson.dumps([log("E1", minutes_ago=5), log("NOBODY", minutes_ago=6)])
    first = _post(client, world.ingest_key, body, "batch-0001")
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    after_first = stored()
    again = _post(client, world.ingest_key, body, "batch-0001")
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content  # the first answer, byte for byte (new: 1, held: 1)
    assert again.json()["data"]["logsDuplicate"] == 0
    assert stored() == after_first  # no punch and no request row more

    fresh = _post(client, world.ingest_key, body, "batch-0002")  # another key: runs again
    assert fresh.json()["data"]["logsDuplicate"] == 2
    assert "idempotent-replayed" not in fresh.headers


def test_the_same_key_with_another_body_is_422_and_stores_nothing(
    client: TestClient, world: World, stored: Callable[[], Stored]
) -> None:
    assert _post(client, world.ingest_key, orjson.dumps([log("E1")]), "k-1").status_code == 200
    before = stored()
    other = _post(client, world.ingest_key, orjson.dumps([log("E2")]), "k-1")
    assert other.status_code == 422
    assert other.json() == {
        "errors": ["This Idempotency-Key was used with a different request body"],
        "succeeded": False,
    }
    assert stored() == before


def test_a_request_still_in_flight_with_the_key_makes_a_duplicate_409(
    client: TestClient, store: Store, world: World, stored: Callable[[], Stored]
) -> None:
    body = orjson.dumps([log("E1", minutes_ago=9)])
    principal = keys.authenticate(store, world.ingest_key, now=utcnow())
    claim = idempotency.begin(
        store, key_id=principal.key_id, idempotency_key="k-2", body=body, now=utcnow()
    )
    assert isinstance(claim, idempotency.Claim)  # the first request, not finished yet
    before = stored()
    duplicate = _post(client, world.ingest_key, body, "k-2")
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"] == [
        "A request with this Idempotency-Key is still in progress; retry later"
    ]
    assert stored() == before


def test_a_claim_abandoned_by_a_crash_is_taken_over(
    client: TestClient, store: Store, world: World
) -> None:
    body = orjson.dumps([log("E1", minutes_ago=12)])
    principal = keys.authenticate(store, world.ingest_key, now=utcnow())
    long_ago = utcnow() - idempotency.ABANDONED_AFTER - timedelta(seconds=5)
    idempotency.begin(
        store, key_id=principal.key_id, idempotency_key="k-3", body=body, now=long_ago
    )
    answer = _post(client, world.ingest_key, body, "k-3")
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["logsAccepted"] == 1


def test_a_failed_request_frees_its_key_for_the_retry(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch, stored: Callable[[], Stored]
) -> None:
    body = orjson.dumps([log("E1", minutes_ago=15)])
    real = ingest_service.ingest_in

    def broken(*args: object, **kwargs: object) -> object:
        raise StorageUnavailable("Storage unavailable; retry later")

    monkeypatch.setattr(ingest_service, "ingest_in", broken)
    failed = _post(client, world.ingest_key, body, "k-4")
    assert failed.status_code == 503
    monkeypatch.setattr(ingest_service, "ingest_in", real)
    retried = _post(client, world.ingest_key, body, "k-4")
    assert retried.status_code == 200, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert retried.json()["data"]["logsAccepted"] == 1
    assert stored().punches == 1


def test_keys_are_kept_24_hours_and_per_api_key(store: Store, world: World) -> None:
    body = b'[{"x": 1}]'
    principal = keys.authenticate(store, world.ingest_key, now=utcnow())
    t0 = utcnow()
    claim = idempotency.begin(
        store, key_id=principal.key_id, idempotency_key="k", body=body, now=t0
    )
    assert isinstance(claim, idempotency.Claim)
    with store.write() as conn:
        idempotency.finish(conn, claim, status_code=200, body=b'{"ok": true}')
    replay = idempotency.begin(
        store, key_id=principal.key_id, idempotency_key="k", body=body, now=t0 + timedelta(hours=23)
    )
    assert replay == idempotency.Replay(200, b'{"ok": true}')
    other_key = keys.authenticate(
        store, keys.issue_key(store, world.slug, scope="ingest").key, now=utcnow()
    )
    mine = idempotency.begin(store, key_id=other_key.key_id, idempotency_key="k", body=body, now=t0)
    assert isinstance(mine, idempotency.Claim)  # another API key: its own namespace
    later = idempotency.begin(
        store, key_id=principal.key_id, idempotency_key="k", body=body, now=t0 + timedelta(hours=25)
    )
    assert isinstance(later, idempotency.Claim)  # expired: a new request


@pytest.mark.parametrize("value", ["", " ", "x" * 256, "naïve", "tab\there"])
def test_a_malformed_idempotency_key_is_400_and_stores_nothing(
    client: TestClient, world: World, stored: Callable[[], Stored], value: str
) -> None:
    headers: dict[str, str | bytes] = {
        "X-API-Key": world.ingest_key,
        "Content-Type": "application/json",
        "Idempotency-Key": value.encode("utf-8"),  # the bytes on the wire
    }
    answer = client.post(URL, content=orjson.dumps([log("E1")]), headers=headers)  # type: ignore[arg-type]
    assert answer.status_code == 400
    assert answer.json() == {
        "errors": ["Idempotency-Key must be 1-255 visible ASCII characters"],
        "succeeded": False,
    }
    assert stored().punches == 0
