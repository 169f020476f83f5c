"""``punchlog init``, ``tenant create/list/set`` and ``key issue/list/revoke`` on SQLite and
PostgreSQL: output, effects, and clean failures that leave nothing half-done."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from punchlog.errors import InvalidKey
from punchlog.services import keys, tenants
from punchlog.services.store import Store
from punchlog.storage.database import build_engine
from tests.cli.conftest import Run, every_stored_value, failed, ok, ok_json, runner_for

KEY_SHAPE = re.compile(r"plk_[0-9a-z]{10}_[0-9A-Za-z]{38}")


def _tenants(run: Run) -> dict[str, dict[str, object]]:
    rows = ok_json(run("tenant", "list", "--json"))["tenants"]
    return {row["slug"]: row for row in rows}


def _keys(run: Run, slug: str = "acme") -> dict[str, dict[str, object]]:
    rows = ok_json(run("key", "list", slug, "--json"))["keys"]
    return {row["id"]: row for row in rows}


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------------------
# init
# ------------------------------------------------------------------------------------------


def test_init_is_idempotent(run: Run) -> None:
    first = ok(run("init"))
    second = ok(run("init"))
    assert "up to date" in first.stdout
    assert "up to date" in second.stdout
    assert first.stderr == second.stderr == ""
    payload = ok_json(run("init", "--json"))
    assert payload["schema"] == "up to date"
    ok(run("tenant", "create", "acme"))
    ok(run("init"))  # upgrading again keeps the data
    assert list(_tenants(run)) == ["acme"]


def test_init_creates_the_schema_in_an_empty_database(fresh_db_url: str) -> None:
    run = runner_for(fresh_db_url)
    engine = build_engine(fresh_db_url)
    try:
        assert "tenants" not in inspect(engine).get_table_names()
        payload = ok_json(run("init", "--json"))
        assert payload["schema"] == "up to date"
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"tenants", "api_keys", "devices", "employees", "punches", "rejected_logs"} <= tables
    ok_json(run("init", "--json"))  # and again: idempotent
    ok(run("tenant", "create", "acme"))
    assert list(_tenants(run)) == ["acme"]


# ------------------------------------------------------------------------------------------
# tenant create / list / set
# ------------------------------------------------------------------------------------------


def test_tenant_create_with_every_option(run: Run) -> None:
    payload = ok_json(
        run(
            "tenant",
            "create",
            "acme",
            "--name",
            "Acme Corp",
            "--timezone",
            "Asia/Kolkata",
            "--backdate-days",
            "7",
            "--unknown-employees",
            "reject",
            "--json",
        )
    )
    assert payload["slug"] == "acme"
    assert payload["name"] == "Acme Corp"
    assert payload["timezone"] == "Asia/Kolkata"
    assert payload["backdateDays"] == 7
    assert payload["unknownEmployees"] == "reject"
    listed = _tenants(run)["acme"]
    assert (listed["name"], listed["timezone"], listed["backdateDays"]) == (
        "Acme Corp",
        "Asia/Kolkata",
        7,
    )
    assert listed["unknownEmployees"] == "reject"


def test_tenant_create_defaults_and_human_output(run: Run) -> None:
    result = ok(run("tenant", "create", "beta"))
    assert "beta" in result.stdout
    assert result.stderr == ""
    listed = _tenants(run)["beta"]
    assert listed["name"] == "beta"
    assert listed["timezone"] == "UTC"
    assert listed["backdateDays"] == 30
    assert listed["unknownEmployees"] == "hold"


def test_tenant_list(run: Run) -> None:
    assert ok_json(run("tenant", "list", "--json")) == {"tenants": []}
    ok(run("tenant", "create", "acme", "--timezone", "Asia/Kolkata"))
    ok(run("tenant", "create", "beta"))
    assert sorted(_tenants(run)) == ["acme", "beta"]
    human = ok(run("tenant", "list")).stdout
    assert "acme" in human
    assert "beta" in human
    assert "Asia/Kolkata" in human


def test_tenant_set_changes_only_what_is_given(run: Run) -> None:
    ok(run("tenant", "create", "acme", "--name", "Acme", "--timezone", "Asia/Kolkata"))
    payload = ok_json(
        run(
            "tenant",
            "set",
            "acme",
            "--timezone",
            "Europe/Berlin",
            "--backdate-days",
            "90",
            "--unknown-employees",
            "reject",
            "--json",
        )
    )
    assert (payload["timezone"], payload["backdateDays"], payload["unknownEmployees"]) == (
        "Europe/Berlin",
        90,
        "reject",
    )
    ok(run("tenant", "set", "acme", "--backdate-days", "5"))
    listed = _tenants(run)["acme"]
    assert listed["timezone"] == "Europe/Berlin"
    assert listed["backdateDays"] == 5
    assert listed["unknownEmployees"] == "reject"
    assert listed["name"] == "Acme"


def test_tenant_set_takes_effect_on_ingestion(run: Run, store: Store) -> None:
    ok(run("tenant", "create", "acme", "--timezone", "Asia/Kolkata"))
    key = ok_json(run("key", "issue", "acme", "--json"))["key"]
    assert keys.authenticate(store, key, now=_now()).policy.hold_unknown_employees is True
    ok(run("tenant", "set", "acme", "--unknown-employees", "reject", "--backdate-days", "3"))
    policy = keys.authenticate(store, key, now=_now()).policy
    assert policy.hold_unknown_employees is False
    assert policy.backdate_days == 3


def test_duplicate_tenant_fails_and_keeps_the_first(run: Run) -> None:
    ok(run("tenant", "create", "acme", "--name", "First", "--timezone", "Asia/Kolkata"))
    result = run("tenant", "create", "acme", "--name", "Second", "--json")
    failed(result, "acme")
    assert result.stdout == ""
    listed = _tenants(run)
    assert list(listed) == ["acme"]
    assert listed["acme"]["name"] == "First"
    assert listed["acme"]["timezone"] == "Asia/Kolkata"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--timezone", "Mars/Base"), "Mars/Base"),
        (("--unknown-employees", "maybe"), "hold"),
        (("--backdate-days", "0"), "backdate"),
    ],
    ids=["bad-zone", "bad-unknown-employees", "bad-backdate"],
)
def test_tenant_create_rejects_bad_settings(run: Run, args: tuple[str, ...], fragment: str) -> None:
    failed(run("tenant", "create", "mars", *args), fragment)
    assert _tenants(run) == {}


@pytest.mark.parametrize("zone", ["", "utc", "Asia/Kolkata ", "../etc/passwd", "/etc/localtime"])
def test_tenant_create_rejects_zone_names_that_are_not_iana(run: Run, zone: str) -> None:
    failed(run("tenant", "create", "odd", "--timezone", zone), "zone")
    assert _tenants(run) == {}


def test_tenant_create_rejects_a_bad_slug(run: Run) -> None:
    failed(run("tenant", "create", "Not A Slug"), "slug")
    assert _tenants(run) == {}


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--backdate-days", "9", "--timezone", "Mars/Base"), "Mars/Base"),
        (("--timezone", "Europe/Berlin", "--unknown-employees", "sometimes"), "hold"),
        (("--timezone", "Europe/Berlin", "--backdate-days", "-1"), "backdate"),
    ],
    ids=["bad-zone", "bad-unknown-employees", "bad-backdate"],
)
def test_tenant_set_rejects_bad_settings_and_changes_nothing(
    run: Run, args: tuple[str, ...], fragment: str
) -> None:
    ok(run("tenant", "create", "acme", "--timezone", "Asia/Kolkata"))
    before = _tenants(run)["acme"]
    failed(run("tenant", "set", "acme", *args), fragment)
    assert _tenants(run)["acme"] == before


@pytest.mark.parametrize(
    "args",
    [
        ("tenant", "set", "nope", "--backdate-days", "5"),
        ("key", "issue", "nope"),
        ("key", "list", "nope"),
    ],
    ids=["tenant-set", "key-issue", "key-list"],
)
def test_unknown_tenant_fails(run: Run, args: tuple[str, ...]) -> None:
    ok(run("tenant", "create", "acme"))
    failed(run(*args), "nope")
    assert list(_tenants(run)) == ["acme"]


# ------------------------------------------------------------------------------------------
# key issue / list / revoke
# ------------------------------------------------------------------------------------------


def test_key_issue_prints_the_key_once(run: Run, store: Store) -> None:
    ok(run("tenant", "create", "acme"))
    result = ok(run("key", "issue", "acme", "--label", "gate 1"))
    assert result.stderr == ""
    key = result.stdout.splitlines()[0].strip()
    assert KEY_SHAPE.fullmatch(key), key
    assert result.stdout.count(key) == 1
    principal = keys.authenticate(store, key, now=_now())
    assert principal.tenant_slug == "acme"
    assert principal.scope == "ingest"  # the default
    listed = _keys(run)[principal.key_public_id]
    assert listed["label"] == "gate 1"
    assert principal.key_public_id in result.stdout  # the id, to revoke it later


@pytest.mark.parametrize(
    "args",
    [
        ("key", "issue", "acme", "--json", "--scope", "read", "--label", "ci"),
        ("key", "issue", "--json", "acme", "--scope", "read", "--label", "ci"),
        ("key", "issue", "acme", "--scope", "read", "--label", "ci", "--json"),
    ],
    ids=["json-middle", "json-first", "json-last"],
)
def test_key_issue_json_anywhere_after_the_command(
    run: Run, store: Store, args: tuple[str, ...]
) -> None:
    ok(run("tenant", "create", "acme"))
    payload = ok_json(run(*args))
    assert KEY_SHAPE.fullmatch(payload["key"])
    assert payload["scope"] == "read"
    assert payload["label"] == "ci"
    principal = keys.authenticate(store, payload["key"], now=_now())
    assert principal.key_public_id == payload["id"]
    assert principal.scope == "read"
    assert list(_keys(run)) == [payload["id"]]


@pytest.mark.parametrize("scope", ["ingest", "read", "admin"])
def test_key_issue_each_scope(run: Run, store: Store, scope: str) -> None:
    ok(run("tenant", "create", "acme"))
    payload = ok_json(run("key", "issue", "acme", "--scope", scope, "--json"))
    assert keys.authenticate(store, payload["key"], now=_now()).scope == scope
    assert _keys(run)[payload["id"]]["scope"] == scope


def test_key_issue_unknown_scope_fails_and_issues_nothing(run: Run) -> None:
    ok(run("tenant", "create", "acme"))
    failed(run("key", "issue", "acme", "--scope", "root", "--json"), "scope", "root")
    assert _keys(run) == {}


def test_key_issue_expiry(run: Run, store: Store) -> None:
    ok(run("tenant", "create", "acme"))
    failed(run("key", "issue", "acme", "--expires", "2030-01-01T00:00"), "offset")
    failed(run("key", "issue", "acme", "--expires", "next tuesday"), "expir")
    assert _keys(run) == {}
    expired = ok_json(run("key", "issue", "acme", "--expires", "2001-01-01T00:00+00:00", "--json"))
    with pytest.raises(InvalidKey):
        keys.authenticate(store, expired["key"], now=_now())
    later = ok_json(run("key", "issue", "acme", "--expires", "2999-01-01T00:00+05:30", "--json"))
    assert keys.authenticate(store, later["key"], now=_now()).key_public_id == later["id"]


def test_key_list_never_shows_a_key_or_its_hash(run: Run) -> None:
    ok(run("tenant", "create", "acme"))
    human_key = ok(run("key", "issue", "acme")).stdout.splitlines()[0].strip()
    json_issued = ok_json(run("key", "issue", "acme", "--scope", "admin", "--json"))
    raw_keys = [human_key, json_issued["key"]]
    listed_json = run("key", "list", "acme", "--json")
    listed_human = run("key", "list", "acme")
    rows = ok_json(listed_json)["keys"]
    assert len(rows) == 2
    assert json_issued["id"] in {row["id"] for row in rows}
    assert all("key" not in row and "keyHash" not in row for row in rows)
    assert json_issued["id"] in ok(listed_human).stdout
    for raw in raw_keys:
        secret = raw.split("_", 2)[2]
        digest = hashlib.sha256(raw.encode()).hexdigest()
        for text in (listed_json.stdout, listed_human.stdout):
            assert raw not in text
            assert secret not in text
            assert digest not in text


def test_key_list_shows_only_the_tenants_keys(run: Run) -> None:
    ok(run("tenant", "create", "acme"))
    ok(run("tenant", "create", "beta"))
    mine = ok_json(run("key", "issue", "acme", "--json"))["id"]
    theirs = ok_json(run("key", "issue", "beta", "--json"))["id"]
    assert list(_keys(run, "acme")) == [mine]
    assert list(_keys(run, "beta")) == [theirs]


def test_key_revoke(run: Run, store: Store) -> None:
    ok(run("tenant", "create", "acme"))
    doomed = ok_json(run("key", "issue", "acme", "--json"))
    kept = ok_json(run("key", "issue", "acme", "--json"))
    assert keys.authenticate(store, doomed["key"], now=_now()).key_public_id == doomed["id"]
    payload = ok_json(run("key", "revoke", doomed["id"], "--json"))
    assert payload["id"] == doomed["id"]
    assert payload["active"] is False
    assert payload["revokedAt"]
    with pytest.raises(InvalidKey):
        keys.authenticate(store, doomed["key"], now=_now())
    assert keys.authenticate(store, kept["key"], now=_now()).key_public_id == kept["id"]
    listed = _keys(run)
    assert listed[doomed["id"]]["active"] is False
    assert listed[kept["id"]]["active"] is True


def test_key_revoke_human_output(run: Run, store: Store) -> None:
    ok(run("tenant", "create", "acme"))
    issued = ok_json(run("key", "issue", "acme", "--json"))
    result = ok(run("key", "revoke", issued["id"]))
    assert "revoked" in result.stdout
    assert issued["id"] in result.stdout
    with pytest.raises(InvalidKey):
        keys.authenticate(store, issued["key"], now=_now())


def test_key_revoke_unknown_id_fails_and_revokes_nothing(run: Run, store: Store) -> None:
    ok(run("tenant", "create", "acme"))
    issued = ok_json(run("key", "issue", "acme", "--json"))
    failed(run("key", "revoke", "zzzzzzzzzz"), "zzzzzzzzzz")
    failed(run("key", "revoke", issued["key"], "--json"))  # the key itself is not its id
    assert _keys(run)[issued["id"]]["active"] is True
    assert keys.authenticate(store, issued["key"], now=_now()).key_public_id == issued["id"]


def test_no_raw_key_is_stored_anywhere(run: Run, db_url: str, store: Store) -> None:
    ok(run("tenant", "create", "acme"))
    ok(run("tenant", "create", "beta"))
    raw_keys = [
        ok(run("key", "issue", "acme")).stdout.splitlines()[0].strip(),
        ok(run("key", "issue", "beta", "--scope", "admin")).stdout.splitlines()[0].strip(),
    ]
    raw_keys += [
        ok_json(run("key", "issue", "acme", "--scope", scope, "--label", "x", "--json"))["key"]
        for scope in ("ingest", "read", "admin")
    ]
    assert len(set(raw_keys)) == 5
    for raw in raw_keys:
        keys.authenticate(store, raw, now=_now())  # they are real keys
    ok(run("key", "revoke", raw_keys[0].split("_")[1]))
    stored = every_stored_value(db_url)
    digests = {hashlib.sha256(raw.encode()).hexdigest() for raw in raw_keys}
    assert digests <= set(stored)  # the dump sees the key table: the hashes are there
    for raw in raw_keys:
        secret = raw.split("_", 2)[2]
        offending = [value for value in stored if raw in value or secret in value]
        assert offending == [], f"raw key material stored: {offending!r}"


def test_tenant_rows_survive_failed_commands(run: Run, store: Store) -> None:
    """A failing command in one tenant touches nothing in another."""
    ok(run("tenant", "create", "acme", "--timezone", "Asia/Kolkata"))
    failed(run("tenant", "create", "acme", "--timezone", "UTC"), "acme")
    failed(run("tenant", "set", "acme", "--timezone", "Nowhere/Land"), "Nowhere/Land")
    assert tenants.get_tenant(store, "acme").timezone == "Asia/Kolkata"
