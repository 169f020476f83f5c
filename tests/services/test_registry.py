"""The ingest path's process cache (services.registry) on SQLite and PostgreSQL: a change made
by another process (here: another Store on the same database, as the CLI or another worker
would be) is seen by this process's very next ingest, and an unchanged tenant is served from
the cache without a single key, device or employee lookup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from punchlog.errors import InvalidKey
from punchlog.services import devices, employees, ingest, keys, tenants
from punchlog.services.employees import EmployeeIn
from punchlog.services.store import Store
from punchlog.settings import Settings
from punchlog.storage import punches as punch_rows
from tests.support.world import DEVICE, DEVICE_OFF, World, local_now, log

LIMITS = ingest.Limits()


@pytest.fixture
def other(settings: Settings) -> Iterator[Store]:
    """Another process's store on the same database."""
    the_store = Store.from_settings(settings)
    yield the_store
    the_store.dispose()


def _push(store: Store, key: str, items: list[object]) -> ingest.IngestResult:
    """As POST /v1/logs does it: the key from the process cache when it is there."""
    now = datetime.now(UTC)
    principal = keys.cached_principal(store, key, now=now) or keys.authenticate(store, key, now=now)
    sender = ingest.Sender(
        tenant_id=principal.tenant_id,
        key_id=principal.key_id,
        request_id="req",
        policy=principal.policy,
        principal=principal,
    )
    return ingest.ingest_batch(store, sender, items, now=now, limits=LIMITS)


def _stored(store: Store, world: World) -> int:
    principal = keys.authenticate(store, world.read_key, now=datetime.now(UTC))
    with store.read() as conn:
        return punch_rows.count_punches(conn, tenant_id=principal.tenant_id)


@pytest.fixture
def warm(store: Store, world: World) -> World:
    """This process has pushed once: key, devices and E1 are cached."""
    assert _push(store, world.ingest_key, [log("E1", minutes_ago=50)]).outcomes == ["new"]
    assert keys.cached_principal(store, world.ingest_key, now=datetime.now(UTC)) is not None
    return world


def test_a_key_revoked_elsewhere_is_refused_on_the_next_request(
    store: Store, other: Store, warm: World
) -> None:
    keys.revoke_key(other, warm.ingest_key_id)
    before = _stored(store, warm)
    with pytest.raises(InvalidKey):
        _push(store, warm.ingest_key, [log("E1", minutes_ago=40)])
    assert _stored(store, warm) == before  # nothing stored
    with pytest.raises(InvalidKey):  # and the cache has learnt it
        _push(store, warm.ingest_key, [log("E1", minutes_ago=39)])


def test_a_device_disabled_or_enabled_elsewhere(store: Store, other: Store, warm: World) -> None:
    devices.set_device_active(other, warm.slug, DEVICE, active=False)
    assert _push(store, warm.ingest_key, [log("E1", minutes_ago=40)]).outcomes == [
        "device_disabled"
    ]
    devices.set_device_active(other, warm.slug, DEVICE_OFF, active=True)
    assert _push(store, warm.ingest_key, [log("E1", device=DEVICE_OFF)]).outcomes == ["new"]


def test_a_device_added_elsewhere_is_known(store: Store, other: Store, warm: World) -> None:
    fresh = "11111111-2222-4333-8444-555555555555"
    assert _push(store, warm.ingest_key, [log("E1", device=fresh)]).outcomes == ["unknown_device"]
    devices.add_device(other, warm.slug, identifier=fresh)
    assert _push(store, warm.ingest_key, [log("E1", device=fresh)]).outcomes == ["new"]


def test_employees_registered_or_deactivated_elsewhere(
    store: Store, other: Store, warm: World
) -> None:
    assert _push(store, warm.ingest_key, [log("N1", minutes_ago=30)]).outcomes == ["unmatched"]
    employees.upsert_employees(other, warm.slug, [EmployeeIn("N2", "New")])
    assert _push(store, warm.ingest_key, [log("N2", minutes_ago=30)]).outcomes == ["new"]
    employees.deactivate_employee(other, warm.slug, "E1")
    assert _push(store, warm.ingest_key, [log("E1", minutes_ago=20)]).outcomes == [
        "employee_inactive"
    ]


def test_tenant_settings_changed_elsewhere(store: Store, other: Store, warm: World) -> None:
    tenants.update_tenant(other, warm.slug, unknown_employees="reject")
    assert _push(store, warm.ingest_key, [log("N5", minutes_ago=30)]).outcomes == [
        "unknown_employee"
    ]
    # A 3-day backdate window: a 5-day-old log is now too old.
    tenants.update_tenant(other, warm.slug, backdate_days=3)
    old = log("E2", at=local_now() - timedelta(days=5))
    assert _push(store, warm.ingest_key, [old]).outcomes == ["too_old"]


def test_an_unchanged_tenant_is_served_from_the_cache(
    store: Store, warm: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_lookup(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("looked up although nothing changed")

    from punchlog.services import registry
    from punchlog.storage import keys as key_rows

    monkeypatch.setattr(registry.employee_rows, "find_employees", no_lookup)
    monkeypatch.setattr(registry.device_rows, "list_devices", no_lookup)
    monkeypatch.setattr(key_rows, "find_key_with_tenant", no_lookup)
    result = _push(store, warm.ingest_key, [log("E1", minutes_ago=31), log("E1", minutes_ago=32)])
    assert result.outcomes == ["new", "new"]
