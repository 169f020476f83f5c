"""Rate limits per key: per-tenant rates, the IETF RateLimit-Policy / RateLimit fields, and
buckets shared by every process on PostgreSQL."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from punchlog.errors import InvalidInput, RateLimited
from punchlog.services import shifts
from punchlog.services.keys import authenticate
from punchlog.services.ratelimits import RateLimiter
from punchlog.services.store import Store, utcnow
from tests.api.conftest import MakeClient
from tests.support.world import World, log

URL = "/v1/logs"
POLICY = re.compile(r'"per-key";q=(\d+);w=(\d+)')
LEFT = re.compile(r'"per-key";r=(\d+);t=(\d+)')


def _fields(headers: object) -> tuple[tuple[int, int], tuple[int, int]]:
    policy = POLICY.fullmatch(headers["ratelimit-policy"])  # type: ignore[index]
    left = LEFT.fullmatch(headers["ratelimit"])  # type: ignore[index]
    assert policy is not None, headers
    assert left is not None, headers
    return (int(policy[1]), int(policy[2])), (int(left[1]), int(left[2]))


def test_answers_carry_the_quota_and_the_429_says_when_to_retry(
    make_client: MakeClient, ingest_headers: dict[str, str]
) -> None:
    client = make_client(rate_limit_per_second=1, rate_limit_burst=3)
    answers = [
        client.post(URL, json=[log("E1", minutes_ago=30 + i)], headers=ingest_headers)
        for i in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    remaining = [_fields(a.headers)[1][0] for a in answers[:3]]
    assert remaining == [2, 1, 0]
    assert all(_fields(a.headers)[0] == (3, 3) for a in answers)  # q=burst, w=burst/rate
    limited = answers[3]
    assert limited.json() == {
        "errors": ["Rate limit exceeded; retry after 1 s"],
        "succeeded": False,
    }
    assert limited.headers["retry-after"] == "1"
    assert _fields(limited.headers)[1] == (0, 3)  # nothing left; full again in 3 s


def test_a_tenant_rate_overrides_the_servers_and_zero_turns_it_off(
    make_client: MakeClient, store: Store, world: World, ingest_headers: dict[str, str]
) -> None:
    client = make_client(rate_limit_per_second=1, rate_limit_burst=1)
    tenant = shifts.update_settings(store, world.slug, rate_limit="0")
    assert tenant.to_dict()["rateLimitPerSecond"] == 0
    answers = [
        client.post(URL, json=[log("E1", minutes_ago=40 + i)], headers=ingest_headers)
        for i in range(5)
    ]
    assert [a.status_code for a in answers] == [200] * 5  # unlimited: no fields either
    assert "ratelimit" not in answers[0].headers

    shifts.update_settings(store, world.slug, rate_limit="2", rate_burst=2)
    # The first request after the change may still be limited by the process's cached view
    # of the tenant (its transaction then reads the new one): a rate takes effect within one
    # request, unlike a revocation, which the transaction itself enforces.
    client.post(URL, json=[log("E2", minutes_ago=49)], headers=ingest_headers)
    answers = [
        client.post(URL, json=[log("E2", minutes_ago=50 + i)], headers=ingest_headers)
        for i in range(3)
    ]
    statuses = [a.status_code for a in answers]
    assert statuses in ([200, 429, 429], [200, 200, 429]), statuses  # burst 2, warm-up or not
    assert _fields(answers[0].headers)[0] == (2, 1)

    back = shifts.update_settings(store, world.slug, rate_limit="default")
    assert (back.rate_limit_per_second, back.rate_limit_burst) == (None, None)


@pytest.mark.parametrize(
    ("rate", "burst", "message"),
    [
        ("fast", None, "rate limit must be a number or 'default'"),
        ("-1", None, "rate limit must be between 0 and 1000000 per second"),
        ("nan", None, "rate limit must be between 0 and 1000000 per second"),
        (None, 0, "rate burst must be between 1 and 1000000"),
    ],
)
def test_bad_rate_settings_are_refused_and_change_nothing(
    store: Store, world: World, rate: str | None, burst: int | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        shifts.update_settings(store, world.slug, rate_limit=rate, rate_burst=burst, timezone="UTC")
    from punchlog.services.tenants import get_tenant

    tenant = get_tenant(store, world.slug)
    assert tenant.timezone != "UTC"  # the whole change was refused
    assert tenant.rate_limit_per_second is None


def test_on_postgresql_every_process_takes_from_one_bucket(store: Store, world: World) -> None:
    """Two limiters stand for two worker processes: on PostgreSQL they share the key's bucket;
    on SQLite (one server process) each keeps its own."""
    principal = authenticate(store, world.ingest_key, now=utcnow())
    first = RateLimiter(store, rate=0.001, burst=3)
    second = RateLimiter(store, rate=0.001, burst=3)
    assert first.hit(principal) is not None
    assert second.hit(principal) is not None
    assert first.hit(principal) is not None
    if store.is_sqlite:
        assert not first.shared
        assert first.hit(principal) is not None  # its own third
        with pytest.raises(RateLimited):
            first.hit(principal)  # its own three are spent
        assert second.hit(principal) is not None  # the other's bucket is its own
        return
    assert first.shared
    assert second.shared
    with pytest.raises(RateLimited) as limited:
        second.hit(principal)  # three taken between them: the shared bucket is empty
    assert limited.value.retry_after_seconds >= 1
    assert limited.value.headers["RateLimit"].startswith('"per-key";r=0;')


def test_read_routes_are_limited_with_the_same_fields(
    make_client: MakeClient, world: World
) -> None:
    client: TestClient = make_client(rate_limit_per_second=1, rate_limit_burst=1)
    headers = {"X-API-Key": world.read_key}
    assert client.get("/v1/punches", headers=headers).status_code == 200
    limited = client.get("/v1/punches", headers=headers)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert _fields(limited.headers)[0] == (1, 1)


def test_only_a_limited_key_on_postgresql_costs_a_database_round_trip(
    store: Store, world: World
) -> None:
    principal = authenticate(store, world.ingest_key, now=utcnow())
    limited = RateLimiter(store, rate=5, burst=5)
    unlimited = RateLimiter(store, rate=0, burst=5)
    assert limited.needs_database(principal) is (not store.is_sqlite)
    assert unlimited.needs_database(principal) is False
    assert unlimited.hit(principal) is None  # no bucket, no fields
