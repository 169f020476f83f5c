"""``GET /metrics``: Prometheus text, counting requests and logs by outcome and reason, with
no tenant data in it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import METRICS_TOKEN
from tests.support.world import DEVICE, World, log

SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def _value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` in an exposition (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        got = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
        if got == wanted:
            return float(match.group(3))
    return 0.0


def test_metrics_count_logs_by_outcome_and_reason_and_requests_by_status(
    client: TestClient, world: World, ingest_headers: dict[str, str]
) -> None:
    before = client.get("/metrics", headers=SCRAPER)
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    batch = [
        log("E1", minutes_ago=5),
        log("E1", minutes_ago=5),  # the same punch again: a duplicate
        log("E2", minutes_ago=6),
        log("NOBODY-9", minutes_ago=7),  # held: unmatched
        log("E3", device="no-such-device", minutes_ago=8),  # rejected: unknown device
        log("E3", minutes_ago=60 * 24 * 40),  # rejected: too old
    ]
    answer = client.post("/v1/logs", json=batch, headers=ingest_headers)
    assert answer.status_code == 200, answer.text
    rejected = answer.json()["data"]["rejected"]
    reasons = sorted(r["reason"] for r in rejected)
    assert len(reasons) == 2
    refused = client.post("/v1/logs", content=b"[", headers=ingest_headers)
    assert refused.status_code == 400
    after = client.get("/metrics", headers=SCRAPER).text

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before.text, name, **labels)

    assert delta("punchlog_logs_total", outcome="new", reason="") == 2
    assert delta("punchlog_logs_total", outcome="duplicate", reason="") == 1
    assert delta("punchlog_logs_total", outcome="unmatched", reason="") == 1
    for reason in set(reasons):
        assert delta("punchlog_logs_total", outcome="rejected", reason=reason) == reasons.count(
            reason
        )
    assert delta("punchlog_http_requests_total", method="POST", status="200") == 1
    assert delta("punchlog_http_requests_total", method="POST", status="400") == 1
    assert delta("punchlog_http_requests_total", method="GET", status="200") >= 1
    # Nothing that names a tenant, a key, a device or an employee.
    for secret in (world.ingest_key, world.slug, DEVICE, "E1", "NOBODY-9"):
        assert secret not in after


def test_group_commit_metrics_move_on_sqlite(
    client: TestClient, ingest_headers: dict[str, str], store: object
) -> None:
    before = client.get("/metrics", headers=SCRAPER).text
    assert client.post("/v1/logs", json=[log("E2")], headers=ingest_headers).status_code == 200
    after = client.get("/metrics", headers=SCRAPER).text
    commits = _value(after, "punchlog_commit_seconds_count") - _value(
        before, "punchlog_commit_seconds_count"
    )
    if getattr(store, "committer", None) is None:  # PostgreSQL: no group committer
        assert commits == 0
    else:
        assert commits >= 1
        assert _value(after, "punchlog_commit_group_requests_count") >= 1
    assert "punchlog_commit_queue_depth" in after


def test_metrics_need_the_operators_token_and_are_off_without_one(
    client: TestClient, make_client: object, world: World
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": world.admin_key}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["succeeded"] is False
        assert "punchlog_" not in refused.text
    off = make_client(metrics_token=None).get("/metrics", headers=SCRAPER)  # type: ignore[operator]
    assert off.status_code == 404
    assert off.json() == {
        "errors": ["Metrics are off: set PUNCHLOG_METRICS_TOKEN"],
        "succeeded": False,
    }
