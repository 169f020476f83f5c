"""The one-pass verdict (services.verdicts.judge_fast) against the general one (judge_ahead).

Pure and in process: a Registry holding one TenantView, no database. The contract under test:
for any batch judge_fast either gives up (``None``) or reaches the very verdict judge_ahead
reaches for the same body parsed as JSON, field by field; and it does not give up on the
usual batch (every device known, active and named as registered; status 0/1; a usual number
of a cached, current employee; a plain timestamp inside the window; no repeated punch).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from punchlog.domain.identifiers import normalize_device_identifier
from punchlog.domain.logs import DeviceRef, EmployeeRef, NaturalKey, Policy
from punchlog.domain.times import load_zone
from punchlog.services.registry import Registry, TenantView
from punchlog.services.verdicts import (
    NEW,
    USUAL_DECODER,
    Batch,
    UsualBatch,
    Verdict,
    WireLog,
    judge_ahead,
    judge_fast,
)

TENANT = 7
VERSION = 12
DIALECTS = ("sqlite", "postgresql")

KOLKATA = load_zone("Asia/Kolkata")
NEW_YORK = load_zone("America/New_York")
LONDON = load_zone("Europe/London")

# Whole seconds (a log can sit exactly on a window's edge) and a fraction (it cannot).
NOW_WHOLE = datetime(2026, 3, 30, 12, 0, 0, tzinfo=UTC)
NOW_FRACTION = datetime(2026, 3, 30, 12, 0, 0, 250_000, tzinfo=UTC)

GUID = "4f5b878d-7fe4-4b34-8eed-651b3d20c4c2"
GUID_OFF = "0c8f2a4e-1d7b-4c55-9a3e-2b6f0e9d1a77"
DEVICES = {  # as the registry stores them: identifiers normalised
    GUID: DeviceRef(id=1, active=True),  # the tenant's zone
    "gate-ny": DeviceRef(id=2, active=True, zone=NEW_YORK),
    "gate-london": DeviceRef(id=3, active=True, zone=LONDON),
    "gate-kolkata": DeviceRef(id=4, active=True, zone=KOLKATA),
    "gate-utc": DeviceRef(id=5, active=True, zone=UTC),
    "gate-off": DeviceRef(id=6, active=False),
    GUID_OFF: DeviceRef(id=7, active=False, zone=NEW_YORK),
}
USUAL_DEVICES = [GUID, "gate-ny", "gate-london", "gate-kolkata", "gate-utc"]
UNUSUAL_DEVICES: list[Any] = [
    GUID.upper(),  # the same device for check_log, not for an exact lookup
    "{" + GUID + "}",
    " gate-ny",
    "gate-ny ",
    "\tgate-london",
    "GATE-NY",  # not a GUID: case matters, an unknown device
    "gate-off",
    GUID_OFF,
    "gate-unknown",
    "",
    "gate\x01ny",
    5,
    None,
]

LONG = "A" * 64
EMPLOYEES = {
    "E1": EmployeeRef(id=101, active=True),
    "E2": EmployeeRef(id=102, active=True),
    "1001": EmployeeRef(id=103, active=True),
    "42": EmployeeRef(id=104, active=True),
    "0042": EmployeeRef(id=105, active=True),
    "0": EmployeeRef(id=106, active=True),
    LONG: EmployeeRef(id=107, active=True),
    str(10**18 - 1): EmployeeRef(id=108, active=True),
    # Registered, but only the general path reaches them (a number of an unusual kind).
    str(10**18): EmployeeRef(id=109, active=True),
    "-5": EmployeeRef(id=110, active=True),
    "E 1": EmployeeRef(id=111, active=True),
    "É1": EmployeeRef(id=112, active=True),
    # Not current.
    "OFF1": EmployeeRef(id=201, active=False),
    "GONE": EmployeeRef(id=202, active=True, left_on=date(2026, 3, 1)),
    "LATER": EmployeeRef(id=203, active=True, left_on=date(2027, 1, 1)),
    "7": EmployeeRef(id=204, active=False),
}
USUAL_NUMBERS: list[Any] = ["E1", "E2", "1001", 1001, 42, "42", "0042", 0, "0", LONG]
USUAL_NUMBERS += [10**18 - 1, str(10**18 - 1)]
UNUSUAL_NUMBERS: list[Any] = [
    "OFF1",
    "GONE",
    "LATER",
    7,
    " E1",
    "E1 ",
    "E 1",
    "É1",
    "١٢",  # Arabic-Indic digits: alphanumeric, not ASCII
    "",
    "   ",
    "A" * 65,
    -5,
    -1,
    10**18,
    2**70,
    1.0,
    1001.0,
    True,
    None,
    "E\x01",
]
UNKNOWN_NUMBERS: list[Any] = ["E404", 404, "e1"]  # not cached: judge_ahead gives up too
USUAL_STATUSES = [0, 1]
UNUSUAL_STATUSES: list[Any] = [2, -1, "1", "0", " 1", True, False, 1.0, 0.0, None, 2**64, 2**70 + 1]

# Plain wall times around the DST changes of 2025-26 (gaps and folds), read with fold=0.
DST_WALLS = [
    "2026-03-08T02:30:00",  # New York: in the gap
    "2026-03-08T03:30:00",  # New York: the instant the gap's 02:30 means
    "2026-03-08T01:59:59",
    "2026-03-29T01:30:00",  # London: in the gap
    "2026-03-29T02:30:00",
    "2025-11-02T01:30:00",  # New York: in the fold
    "2025-11-02T01:00:00",
    "2025-10-26T01:30:00",  # London: in the fold
    "2025-10-26T00:59:59",
]
INVALID_STAMPS: list[Any] = [
    "2026-02-30T10:00:00",
    "2026-13-01T00:00:00",
    "2026-03-29T24:00:00",
    "2026-03-29T10:60:00",
    "2026-03-29",
    "29/03/2026 10:00:00",
    "",
    "0001-01-01T00:00:00",  # out of range east of UTC
    "9999-12-31T23:59:59",  # out of range west of UTC
    "\uff12\uff10\uff12\uff16-03-29T10:00:00",  # full-width digits
    "2026-03-29T10:00:00+25:00",
    "2026-3-29T10:00:00",
    0,
    1774785600,
    None,
]
POLICY_ZONES: list[tzinfo] = [UTC, KOLKATA, NEW_YORK, LONDON]
MISSING = object()
FIELDS = ("DeviceIdentifier", "EmployeeAttendanceNumber", "Timestamp", "Status")
_PLAIN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")


def _registry(view: TenantView | None, tenant_id: int = TENANT) -> Registry:
    """A registry whose cache holds ``view`` for ``tenant_id`` (as Registry.tenant stores it,
    without the database read)."""
    registry = Registry()
    if view is not None:
        registry._tenants[tenant_id] = view
    return registry


def _view(version: int = VERSION) -> TenantView:
    return TenantView(version, dict(DEVICES), dict(EMPLOYEES))


def _zone_of(identifier: object, policy: Policy) -> tzinfo:
    """The zone a device sending ``identifier`` reads wall times in (the tenant's if none)."""
    if isinstance(identifier, str):
        normalised = normalize_device_identifier(identifier)
        device = DEVICES.get(normalised) if normalised is not None else None
        if device is not None and device.zone is not None:
            return device.zone
    return policy.zone


def _wall_text(instant: datetime, zone: tzinfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Scenario:
    policy: Policy
    now: datetime
    logs: list[Any]
    ensure_ascii: bool

    def body(self) -> bytes:
        return json.dumps(self.logs, ensure_ascii=self.ensure_ascii).encode()


# --- strategies -------------------------------------------------------------------------------

policies = st.builds(
    Policy,
    zone=st.sampled_from(POLICY_ZONES),
    backdate_days=st.sampled_from([0, 1, 30, 200]),
    future_tolerance_seconds=st.sampled_from([0, 300, 86_400]),
    hold_unknown_employees=st.booleans(),
)
nows = st.sampled_from([NOW_WHOLE, NOW_FRACTION])


def _window(policy: Policy, now: datetime) -> tuple[datetime, datetime]:
    return (
        now - timedelta(days=policy.backdate_days),
        now + timedelta(seconds=policy.future_tolerance_seconds),
    )


@st.composite
def usual_stamps(draw: st.DrawFn, zone: tzinfo, policy: Policy, now: datetime) -> str:
    """A plain timestamp meant to be inside the window (whether it is, is checked apart)."""
    earliest, latest = _window(policy, now)
    kind = draw(st.sampled_from(["inside", "inside", "inside", "edge", "dst"]))
    if kind == "inside":
        span = int((latest - earliest).total_seconds())
        return _wall_text(earliest + timedelta(seconds=draw(st.integers(0, span))), zone)
    if kind == "edge":
        edge = draw(st.sampled_from([earliest, latest]))
        return _wall_text(edge + timedelta(seconds=draw(st.integers(-1, 1))), zone)
    return draw(st.sampled_from(DST_WALLS))


@st.composite
def unusual_stamps(draw: st.DrawFn, zone: tzinfo, policy: Policy, now: datetime) -> Any:
    earliest, latest = _window(policy, now)
    plain = draw(usual_stamps(zone, policy, now))
    kind = draw(
        st.sampled_from(
            ["offset", "fraction", "separator", "padded", "old", "future", "invalid", "dst-off"]
        )
    )
    if kind == "offset":
        return plain + draw(st.sampled_from(["Z", "z", "+00:00", "+05:30", "-04:00", "+0100"]))
    if kind == "fraction":
        return plain + draw(st.sampled_from([".5", ".123456", ",0", ".000"]))
    if kind == "separator":
        return plain[:10] + draw(st.sampled_from([" ", "t"])) + plain[11:]
    if kind == "padded":
        return draw(st.sampled_from([" ", "\t"])) + plain + draw(st.sampled_from(["", "\n", " "]))
    if kind == "old":
        days = draw(st.sampled_from([1, 2, 400]))
        return _wall_text(earliest - timedelta(days=days, seconds=1), zone)
    if kind == "future":
        return _wall_text(latest + timedelta(days=draw(st.sampled_from([1, 3]))), zone)
    if kind == "dst-off":
        return draw(st.sampled_from(DST_WALLS)) + draw(st.sampled_from(["Z", "-05:00", ".1"]))
    return draw(st.sampled_from(INVALID_STAMPS))


@st.composite
def logs(draw: st.DrawFn, policy: Policy, now: datetime, usual_only: bool) -> Any:
    """One log: each member usual, or (unless ``usual_only``) now and then not."""

    def pick(usual: list[Any], unusual: list[Any], weight: int = 6) -> Any:
        if usual_only or draw(st.integers(0, weight)) > 0:
            return draw(st.sampled_from(usual))
        return draw(st.sampled_from(unusual))

    if not usual_only and draw(st.integers(0, 40)) == 0:  # not an object at all
        return draw(st.sampled_from([None, 1, "log", [], [GUID, "E1"]]))
    device = pick(USUAL_DEVICES, UNUSUAL_DEVICES)
    number = pick(USUAL_NUMBERS, UNUSUAL_NUMBERS)
    if not usual_only and draw(st.integers(0, 30)) == 0:
        number = draw(st.sampled_from(UNKNOWN_NUMBERS))
    status = pick(USUAL_STATUSES, UNUSUAL_STATUSES)
    zone = _zone_of(device, policy)
    if usual_only or draw(st.integers(0, 5)) > 0:
        stamp: Any = draw(usual_stamps(zone, policy, now))
    else:
        stamp = draw(unusual_stamps(zone, policy, now))
    log: dict[str, Any] = {
        "DeviceIdentifier": device,
        "EmployeeAttendanceNumber": number,
        "Timestamp": stamp,
        "Status": status,
    }
    if not usual_only and draw(st.integers(0, 30)) == 0:
        del log[draw(st.sampled_from(FIELDS))]
    if not usual_only and draw(st.integers(0, 6)) == 0:  # members the rules ignore
        log["DeviceName"] = draw(st.sampled_from(["Gate", None, 3, {"a": [1, 2.5]}]))
    if draw(st.booleans()):  # the order of members does not matter
        log = dict(reversed(log.items()))
    return log


@st.composite
def mixed_scenarios(draw: st.DrawFn) -> Scenario:
    policy = draw(policies)
    now = draw(nows)
    batch = draw(st.lists(logs(policy, now, usual_only=False), min_size=0, max_size=12))
    # Repeats: a log sent again, or the same punch with its number as an int and a string.
    for _ in range(draw(st.integers(0, 3))):
        if not batch:
            break
        copy = draw(st.sampled_from(batch))
        if isinstance(copy, dict):
            copy = dict(copy)
            sent = copy.get("EmployeeAttendanceNumber")
            if draw(st.booleans()) and type(sent) is int:
                copy["EmployeeAttendanceNumber"] = str(sent)
            elif draw(st.booleans()) and type(sent) is str and sent.isdigit():
                copy["EmployeeAttendanceNumber"] = int(sent)
        batch.insert(draw(st.integers(0, len(batch))), copy)
    return Scenario(policy, now, batch, draw(st.booleans()))


@st.composite
def usual_scenarios(draw: st.DrawFn) -> Scenario:
    """Usual logs only, no punch twice (kept apart by the oracle)."""
    policy = draw(policies)
    now = draw(nows)
    drawn = draw(st.lists(logs(policy, now, usual_only=True), min_size=1, max_size=25))
    keys: set[NaturalKey] = set()
    batch = []
    for log in drawn:
        key = _usual_key(log, policy, now)
        if key is not None and key not in keys:
            keys.add(key)
            batch.append(log)
    return Scenario(policy, now, batch, draw(st.booleans()))


@st.composite
def near_usual_scenarios(draw: st.DrawFn) -> Scenario:
    """A usual batch with one thing about one log changed: the batches judge_fast must see
    through (every other log is one it would take)."""
    usual = draw(usual_scenarios())
    batch = list(usual.logs)
    if not batch:
        return usual
    index = draw(st.integers(0, len(batch) - 1))
    log = dict(batch[index])
    change = draw(st.sampled_from(["device", "number", "status", "stamp", "missing", "repeat"]))
    if change == "device":
        log["DeviceIdentifier"] = draw(st.sampled_from(UNUSUAL_DEVICES))
    elif change == "number":
        log["EmployeeAttendanceNumber"] = draw(st.sampled_from(UNUSUAL_NUMBERS + UNKNOWN_NUMBERS))
    elif change == "status":
        log["Status"] = draw(st.sampled_from(UNUSUAL_STATUSES))
    elif change == "stamp":
        zone = _zone_of(log["DeviceIdentifier"], usual.policy)
        log["Timestamp"] = draw(unusual_stamps(zone, usual.policy, usual.now))
    elif change == "missing":
        del log[draw(st.sampled_from(FIELDS))]
    else:  # the same punch again, maybe with its number as the other JSON type
        sent = log["EmployeeAttendanceNumber"]
        if type(sent) is int:
            log["EmployeeAttendanceNumber"] = draw(st.sampled_from([sent, str(sent)]))
        elif sent.isdigit() and not sent.startswith("0"):
            log["EmployeeAttendanceNumber"] = draw(st.sampled_from([sent, int(sent)]))
        batch.insert(draw(st.integers(0, len(batch))), log)
        return Scenario(usual.policy, usual.now, batch, usual.ensure_ascii)
    batch[index] = log
    return Scenario(usual.policy, usual.now, batch, usual.ensure_ascii)


# --- the oracle: the usual batch, as the contract defines it, written apart -------------------


def _usual_key(log: Any, policy: Policy, now: datetime) -> NaturalKey | None:
    """The natural key of a usual log; ``None`` for any other (one with a member beyond the
    four is not usual: it goes the general way)."""
    if type(log) is not dict or set(log) != set(FIELDS):
        return None
    identifier = log.get("DeviceIdentifier")
    device = DEVICES.get(identifier) if type(identifier) is str else None
    if device is None or not device.active:
        return None
    status = log.get("Status")
    if type(status) is not int or status not in (0, 1):
        return None
    sent = log.get("EmployeeAttendanceNumber")
    if type(sent) is int and 0 <= sent < 10**18:
        number = str(sent)
    elif type(sent) is str and 1 <= len(sent) <= 64 and sent.isascii() and sent.isalnum():
        number = sent
    else:
        return None
    employee = EMPLOYEES.get(number)
    if employee is None or not employee.active or employee.left_on is not None:
        return None
    text = log.get("Timestamp")
    if type(text) is not str or not _PLAIN.fullmatch(text):
        return None
    try:
        wall = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
        instant = wall.replace(tzinfo=device.zone or policy.zone).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    earliest, latest = _window(policy, now)
    if not earliest <= instant <= latest:
        return None
    return (device.id, number, instant, status)


def _is_usual_batch(batch: list[Any], policy: Policy, now: datetime) -> bool:
    keys = [_usual_key(log, policy, now) for log in batch]
    return None not in keys and len(set(keys)) == len(keys)


def _wire_shaped(log: Any) -> bool:
    """Whether USUAL_DECODER takes this log (exactly the four members, of the usual JSON
    types: a log with any other member goes the general way)."""
    if type(log) is not dict or set(log) != set(FIELDS):
        return False
    number = log["EmployeeAttendanceNumber"]
    return (
        type(log["DeviceIdentifier"]) is str
        and type(log["Timestamp"]) is str
        and type(log["Status"]) is int
        and (type(number) is str or type(number) is int)
    )


# --- comparing verdicts -----------------------------------------------------------------------


def _exact(values: Any) -> list[str]:
    """Values as repr: types and tzinfo count (True is not 1, an aware datetime in New York is
    not the same driver value as the equal one in UTC)."""
    return [repr(v) for v in values]


def assert_same_verdict(fast: Verdict, ahead: Verdict | None, policy: Policy) -> None:
    assert ahead is not None, "judge_fast decided a batch judge_ahead could not"
    assert fast.version == ahead.version
    assert fast.policy is policy  # ingest_in compares policies by identity
    assert ahead.policy is policy
    assert fast.outcomes == ahead.outcomes
    assert fast.rejections == ahead.rejections
    assert fast.kept == ahead.kept
    assert _exact(k for _, key in fast.kept for k in key) == _exact(
        k for _, key in ahead.kept for k in key
    )
    assert fast.in_batch_duplicates == ahead.in_batch_duplicates
    assert fast.held == ahead.held
    assert fast.device_ids == ahead.device_ids
    assert fast.punches.dialect == ahead.punches.dialect
    assert fast.punches.count == ahead.punches.count
    assert fast.punches.values == ahead.punches.values
    assert _exact(fast.punches.values) == _exact(ahead.punches.values)
    assert fast.punches.tenant_id == ahead.punches.tenant_id
    assert fast.punches.source == ahead.punches.source
    assert repr(fast.punches.received_at) == repr(ahead.punches.received_at)
    assert fast == ahead


def _judge_both(
    scenario: Scenario, dialect: str, *, version: int = VERSION
) -> tuple[Verdict | None, Verdict | None, list[WireLog] | None]:
    """judge_fast on the body decoded as WireLogs (``None`` where the body does not decode so)
    and judge_ahead on the same body parsed as JSON (orjson.loads)."""
    body = scenario.body()
    registry = _registry(_view())
    batch = Batch(TENANT, "api", scenario.now, dialect)
    items = orjson.loads(body)
    ahead = judge_ahead(registry, batch, items, scenario.policy, version)
    try:
        wire: list[WireLog] | None = USUAL_DECODER.decode(body)
    except msgspec.DecodeError:
        wire = None
    fast = None
    if wire is not None:
        fast = judge_fast(registry, batch, wire, scenario.policy, version)
        # As ingest passes it: the UsualBatch itself, parsed lazily.
        lazy = UsualBatch(wire, body, orjson.loads)
        assert judge_ahead(registry, batch, lazy, scenario.policy, version) == ahead
    view = registry.cached_tenant(TENANT)
    assert view is not None
    assert view.devices == DEVICES  # nothing changed
    assert view.employees == EMPLOYEES
    return fast, ahead, wire


PROPERTY = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --- properties -------------------------------------------------------------------------------


def _check_none_or_same(scenario: Scenario, dialect: str) -> None:
    fast, ahead, wire = _judge_both(scenario, dialect)
    event("decoded" if wire is not None else "general body")
    event("fast verdict" if fast is not None else "fast none")
    event("ahead verdict" if ahead is not None else "ahead none")
    all_wire_shaped = all(_wire_shaped(log) for log in scenario.logs)
    assert (wire is not None) == all_wire_shaped, "USUAL_DECODER took the wrong bodies"
    if wire is None:
        return
    assert len(wire) == len(scenario.logs)
    usual = _is_usual_batch(scenario.logs, scenario.policy, scenario.now)
    if fast is not None:
        assert_same_verdict(fast, ahead, scenario.policy)
    # judge_fast decides the usual batch, and only it (its docstring's promise).
    assert (fast is not None) == usual, (scenario.logs, ahead)


@pytest.mark.parametrize("dialect", DIALECTS)
@PROPERTY
@given(scenario=mixed_scenarios())
def test_judge_fast_is_none_or_judge_aheads_verdict(dialect: str, scenario: Scenario) -> None:
    _check_none_or_same(scenario, dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
@PROPERTY
@given(scenario=near_usual_scenarios())
def test_one_unusual_thing_in_a_usual_batch(dialect: str, scenario: Scenario) -> None:
    _check_none_or_same(scenario, dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
@PROPERTY
@given(scenario=usual_scenarios())
def test_judge_fast_decides_every_usual_batch(dialect: str, scenario: Scenario) -> None:
    fast, ahead, wire = _judge_both(scenario, dialect)
    assert wire is not None
    assert fast is not None, scenario.logs
    assert_same_verdict(fast, ahead, scenario.policy)
    assert fast.outcomes == [NEW] * len(scenario.logs)
    assert fast.punches.count == len(scenario.logs)
    assert [index for index, _ in fast.kept] == list(range(len(scenario.logs)))


# --- examples ---------------------------------------------------------------------------------

POLICY = Policy(zone=KOLKATA)


def _log(number: Any = "E1", *, device: Any = GUID, at: str, status: Any = 0) -> dict[str, Any]:
    return {
        "DeviceIdentifier": device,
        "EmployeeAttendanceNumber": number,
        "Timestamp": at,
        "Status": status,
    }


def _wire(items: list[dict[str, Any]]) -> list[WireLog]:
    decoded: list[WireLog] = USUAL_DECODER.decode(json.dumps(items).encode())
    return decoded


RECENT = _wall_text(NOW_WHOLE - timedelta(hours=1), KOLKATA)
USUAL = [_log("E1", at=RECENT), _log(1001, device="gate-ny", at="2026-03-08T02:30:00")]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_version_other_than_the_cached_view_gives_none(dialect: str) -> None:
    registry = _registry(_view(version=VERSION))
    batch = Batch(TENANT, "api", NOW_WHOLE, dialect)
    assert judge_fast(registry, batch, _wire(USUAL), POLICY, VERSION) is not None  # control
    assert judge_fast(registry, batch, _wire(USUAL), POLICY, VERSION + 1) is None
    assert judge_fast(registry, batch, _wire(USUAL), POLICY, VERSION - 1) is None
    assert judge_ahead(registry, batch, USUAL, POLICY, VERSION + 1) is None


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_empty_tenant_cache_gives_none(dialect: str) -> None:
    batch = Batch(TENANT, "api", NOW_WHOLE, dialect)
    assert judge_fast(_registry(None), batch, _wire(USUAL), POLICY, VERSION) is None
    # Another tenant's view is no help.
    other = _registry(_view(), tenant_id=TENANT + 1)
    assert judge_fast(other, batch, _wire(USUAL), POLICY, VERSION) is None
    assert judge_ahead(other, batch, USUAL, POLICY, VERSION) is None


@pytest.mark.parametrize("dialect", DIALECTS)
def test_one_timestamp_text_means_each_devices_own_zone(dialect: str) -> None:
    text = "2026-03-29T09:00:00"
    items = [
        _log("E1", device="gate-ny", at=text),
        _log("E1", device="gate-london", at=text),
        _log("E1", device="gate-ny", at=text, status=1),
        _log("E1", device=GUID, at=text),  # the tenant's zone (Kolkata)
        _log("E1", device="gate-london", at=text, status=1),
        _log("E2", device="gate-utc", at=text),
    ]
    registry = _registry(_view())
    batch = Batch(TENANT, "api", NOW_WHOLE, dialect)
    fast = judge_fast(registry, batch, _wire(items), POLICY, VERSION)
    assert fast is not None
    assert_same_verdict(fast, judge_ahead(registry, batch, items, POLICY, VERSION), POLICY)
    instants = [key[2] for _, key in fast.kept]
    assert instants[0] == datetime(2026, 3, 29, 13, 0, tzinfo=UTC)  # EDT
    assert instants[1] == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # BST
    assert instants[2] == instants[0]
    assert instants[3] == datetime(2026, 3, 29, 3, 30, tzinfo=UTC)  # IST
    assert instants[4] == instants[1]
    assert instants[5] == datetime(2026, 3, 29, 9, 0, tzinfo=UTC)
    assert fast.device_ids == {1, 2, 3, 5}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_gap_wall_time_repeats_the_punch_after_the_gap(dialect: str) -> None:
    """02:30 in New York's spring gap is the instant 03:30 EDT: the same punch, sent twice."""
    items = [
        _log("E1", device="gate-ny", at="2026-03-08T02:30:00"),
        _log("E1", device="gate-ny", at="2026-03-08T03:30:00"),
    ]
    policy = Policy(zone=KOLKATA, backdate_days=200)
    registry = _registry(_view())
    batch = Batch(TENANT, "api", NOW_WHOLE, dialect)
    assert judge_fast(registry, batch, _wire(items), policy, VERSION) is None
    ahead = judge_ahead(registry, batch, items, policy, VERSION)
    assert ahead is not None
    assert ahead.in_batch_duplicates == 1
    assert ahead.outcomes == [NEW, "duplicate"]
    # The fold's 01:30 is the earlier of the two (EDT), and judged alike.
    fold = [_log("E1", device="gate-ny", at="2025-11-02T01:30:00")]
    fast = judge_fast(registry, batch, _wire(fold), policy, VERSION)
    assert fast is not None
    assert fast.kept[0][1][2] == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)
    assert_same_verdict(fast, judge_ahead(registry, batch, fold, policy, VERSION), policy)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("first", "second"), [(1001, "1001"), ("42", 42), ("E1", "E1"), (0, "0")])
def test_a_punch_repeated_within_the_batch_gives_none(
    dialect: str, first: Any, second: Any
) -> None:
    items = [_log(first, at=RECENT), _log("E2", at=RECENT), _log(second, at=RECENT)]
    registry = _registry(_view())
    batch = Batch(TENANT, "api", NOW_WHOLE, dialect)
    assert judge_fast(registry, batch, _wire(items), POLICY, VERSION) is None
    ahead = judge_ahead(registry, batch, items, POLICY, VERSION)
    assert ahead is not None
    assert ahead.outcomes == [NEW, NEW, "duplicate"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_window_is_inclusive_at_both_edges(dialect: str) -> None:
    policy = Policy(zone=UTC, backdate_days=30, future_tolerance_seconds=300)
    earliest, latest = _window(policy, NOW_WHOLE)
    registry = _registry(_view())
    batch = Batch(TENANT, "api", NOW_WHOLE, dialect)
    inside = [_log("E1", at=_wall_text(earliest, UTC)), _log("E1", at=_wall_text(latest, UTC))]
    fast = judge_fast(registry, batch, _wire(inside), policy, VERSION)
    assert fast is not None
    assert_same_verdict(fast, judge_ahead(registry, batch, inside, policy, VERSION), policy)
    for outside, reason in [
        (_wall_text(earliest - timedelta(seconds=1), UTC), "too_old"),
        (_wall_text(latest + timedelta(seconds=1), UTC), "in_future"),
    ]:
        items = [*inside, _log("E2", at=outside)]
        assert judge_fast(registry, batch, _wire(items), policy, VERSION) is None
        ahead = judge_ahead(registry, batch, items, policy, VERSION)
        assert ahead is not None
        assert ahead.outcomes == [NEW, NEW, reason]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_full_batch_of_usual_logs(dialect: str) -> None:
    devices = USUAL_DEVICES
    numbers = ["E1", "E2", 1001, "0042", LONG]
    items = [
        _log(
            numbers[i % len(numbers)],
            device=devices[i % len(devices)],
            at=_wall_text(
                NOW_WHOLE - timedelta(minutes=i), _zone_of(devices[i % len(devices)], POLICY)
            ),
            status=i % 2,
        )
        for i in range(1000)
    ]
    registry = _registry(_view())
    batch = Batch(TENANT, "api", NOW_WHOLE, dialect)
    fast = judge_fast(registry, batch, _wire(items), POLICY, VERSION)
    assert fast is not None
    assert fast.punches.count == 1000
    assert_same_verdict(fast, judge_ahead(registry, batch, items, POLICY, VERSION), POLICY)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "unusual",
    [
        _log("LATER", at=RECENT),  # leaves later: the general path matches it
        _log("GONE", at=RECENT),
        _log("OFF1", at=RECENT),
        _log(" E1", at=RECENT),
        _log("E1", device=GUID.upper(), at=RECENT),
        _log("E1", device="gate-off", at=RECENT),
        _log("E1", at=RECENT + "+05:30"),
        _log("E1", at=RECENT + ".5"),
        _log("E1", at=RECENT, status=2),
        _log(10**18, at=RECENT),
        _log(-5, at=RECENT),
    ],
)
def test_one_unusual_log_hands_the_batch_to_the_general_path(
    dialect: str, unusual: dict[str, Any]
) -> None:
    items = [*USUAL, unusual]
    registry = _registry(_view())
    batch = Batch(TENANT, "api", NOW_WHOLE, dialect)
    assert judge_fast(registry, batch, _wire(items), POLICY, VERSION) is None
    assert judge_fast(registry, batch, _wire(USUAL), POLICY, VERSION) is not None  # control
    assert judge_ahead(registry, batch, items, POLICY, VERSION) is not None


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_empty_batch_is_the_empty_verdict(dialect: str) -> None:
    registry = _registry(_view())
    batch = Batch(TENANT, "api", NOW_FRACTION, dialect)
    fast = judge_fast(registry, batch, [], POLICY, VERSION)
    assert fast is not None
    assert fast.punches.count == 0
    assert_same_verdict(fast, judge_ahead(registry, batch, [], POLICY, VERSION), POLICY)
