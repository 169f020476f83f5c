"""The per-log rules of POST /v1/logs (spec: "Each log, in order")."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from punchlog.domain.logs import (
    DEVICE_DISABLED,
    EMPLOYEE_INACTIVE,
    IN_FUTURE,
    INVALID_EMPLOYEE_NUMBER,
    INVALID_LOG,
    INVALID_STATUS,
    INVALID_TIMESTAMP,
    REASONS,
    TOO_OLD,
    UNKNOWN_DEVICE,
    UNKNOWN_EMPLOYEE,
    Candidate,
    DeviceRef,
    EmployeeRef,
    Policy,
    Rejection,
    check_employee,
    check_log,
    judge_batch,
    natural_key,
)
from punchlog.domain.times import load_zone

NOW = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
KOLKATA = load_zone("Asia/Kolkata")
NEW_YORK = load_zone("America/New_York")

GUID = "4f5b878d-7fe4-4b34-8eed-651b3d20c4c2"
DISABLED_GUID = "0c8f2a4e-1d7b-4c55-9a3e-2b6f0e9d1a77"
DEVICES = {
    GUID: DeviceRef(id=1, active=True),
    DISABLED_GUID: DeviceRef(id=2, active=False),
    "gate-kolkata": DeviceRef(id=3, active=True, zone=KOLKATA),
    "gate-new-york": DeviceRef(id=4, active=True, zone=NEW_YORK),
}
POLICY = Policy(zone=UTC)  # tenant zone UTC: wall time == instant unless a device says otherwise

MISSING = object()


def log(**fields: Any) -> dict[str, Any]:
    """A valid log (device 1, an hour before NOW); ``Field=MISSING`` drops the field."""
    item: dict[str, Any] = {
        "DeviceIdentifier": GUID,
        "EmployeeAttendanceNumber": "E042",
        "Timestamp": "2026-12-03T09:00:00",
        "Status": 0,
    }
    item.update(fields)
    return {key: value for key, value in item.items() if value is not MISSING}


def judge(item: object, policy: Policy = POLICY, index: int = 0) -> Candidate | Rejection:
    return check_log(index, item, devices=DEVICES, policy=policy, now=NOW)


def accepted(item: object, policy: Policy = POLICY) -> Candidate:
    result = judge(item, policy)
    assert isinstance(result, Candidate), result
    return result


# --- every rule, with its reason ------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        # 1. shape
        pytest.param([], INVALID_LOG, id="list-not-object"),
        pytest.param("log", INVALID_LOG, id="string-not-object"),
        pytest.param(None, INVALID_LOG, id="null-not-object"),
        pytest.param(42, INVALID_LOG, id="number-not-object"),
        pytest.param({}, INVALID_LOG, id="empty-object"),
        pytest.param(log(DeviceIdentifier=MISSING), INVALID_LOG, id="missing-device"),
        pytest.param(log(EmployeeAttendanceNumber=MISSING), INVALID_LOG, id="missing-number"),
        pytest.param(log(Timestamp=MISSING), INVALID_LOG, id="missing-timestamp"),
        pytest.param(log(Status=MISSING), INVALID_LOG, id="missing-status"),
        pytest.param(log(DeviceIdentifier=None), INVALID_LOG, id="null-device"),
        pytest.param(log(EmployeeAttendanceNumber=None), INVALID_LOG, id="null-number"),
        pytest.param(log(Timestamp=None), INVALID_LOG, id="null-timestamp"),
        pytest.param(log(Status=None), INVALID_LOG, id="null-status"),
        pytest.param(log(DeviceIdentifier=42), INVALID_LOG, id="device-int"),
        pytest.param(log(DeviceIdentifier=[GUID]), INVALID_LOG, id="device-list"),
        pytest.param(log(DeviceIdentifier={"id": GUID}), INVALID_LOG, id="device-object"),
        pytest.param(log(DeviceIdentifier=True), INVALID_LOG, id="device-bool"),
        pytest.param(
            {"deviceidentifier": GUID, **log(DeviceIdentifier=MISSING)},
            INVALID_LOG,
            id="field-names-case-sensitive",
        ),
        # 2. status
        pytest.param(log(Status=2), INVALID_STATUS, id="status-2"),
        pytest.param(log(Status=-1), INVALID_STATUS, id="status-minus-1"),
        pytest.param(log(Status=True), INVALID_STATUS, id="status-true"),
        pytest.param(log(Status=False), INVALID_STATUS, id="status-false"),
        pytest.param(log(Status=0.0), INVALID_STATUS, id="status-float-0"),
        pytest.param(log(Status=1.0), INVALID_STATUS, id="status-float-1"),
        pytest.param(log(Status="01"), INVALID_STATUS, id="status-string-01"),
        pytest.param(log(Status="in"), INVALID_STATUS, id="status-string-in"),
        pytest.param(log(Status="IN"), INVALID_STATUS, id="status-string-IN"),
        pytest.param(log(Status=""), INVALID_STATUS, id="status-empty-string"),
        pytest.param(log(Status=" 1"), INVALID_STATUS, id="status-padded-string"),
        pytest.param(log(Status=[0]), INVALID_STATUS, id="status-list"),
        pytest.param(log(Status={"v": 0}), INVALID_STATUS, id="status-object"),
        # 3. timestamp
        pytest.param(log(Timestamp="yesterday"), INVALID_TIMESTAMP, id="timestamp-garbage"),
        pytest.param(log(Timestamp=""), INVALID_TIMESTAMP, id="timestamp-empty"),
        pytest.param(log(Timestamp="2026-02-30T09:00:00"), INVALID_TIMESTAMP, id="feb-30"),
        pytest.param(log(Timestamp="2026-12-03T24:00:00"), INVALID_TIMESTAMP, id="hour-24"),
        pytest.param(log(Timestamp="2026-12-03T09:00"), INVALID_TIMESTAMP, id="no-seconds"),
        pytest.param(
            log(Timestamp="2026-12-03T09:00:00+24:00"), INVALID_TIMESTAMP, id="offset-24h"
        ),
        pytest.param(log(Timestamp=1764752400), INVALID_TIMESTAMP, id="timestamp-epoch-int"),
        pytest.param(
            log(Timestamp=["2026-12-03T09:00:00"]), INVALID_TIMESTAMP, id="timestamp-list"
        ),
        # 4. device
        pytest.param(log(DeviceIdentifier="gate-unknown"), UNKNOWN_DEVICE, id="unknown-device"),
        pytest.param(log(DeviceIdentifier=""), UNKNOWN_DEVICE, id="empty-device"),
        pytest.param(log(DeviceIdentifier="d" * 129), UNKNOWN_DEVICE, id="device-too-long"),
        pytest.param(
            log(DeviceIdentifier="GATE-KOLKATA"),
            UNKNOWN_DEVICE,
            id="custom-identifier-case-sensitive",
        ),
        pytest.param(log(DeviceIdentifier=DISABLED_GUID), DEVICE_DISABLED, id="device-disabled"),
        pytest.param(
            log(DeviceIdentifier=DISABLED_GUID.upper()),
            DEVICE_DISABLED,
            id="device-disabled-upper-guid",
        ),
        # 6. window
        pytest.param(log(Timestamp="2026-10-01T09:00:00"), TOO_OLD, id="too-old"),
        pytest.param(log(Timestamp="2026-12-04T09:00:00"), IN_FUTURE, id="in-future"),
        # 7. number format
        pytest.param(log(EmployeeAttendanceNumber=""), INVALID_EMPLOYEE_NUMBER, id="number-empty"),
        pytest.param(
            log(EmployeeAttendanceNumber="  "), INVALID_EMPLOYEE_NUMBER, id="number-blank"
        ),
        pytest.param(
            log(EmployeeAttendanceNumber="n" * 65), INVALID_EMPLOYEE_NUMBER, id="number-65"
        ),
        pytest.param(log(EmployeeAttendanceNumber=4.2), INVALID_EMPLOYEE_NUMBER, id="number-float"),
        pytest.param(log(EmployeeAttendanceNumber=True), INVALID_EMPLOYEE_NUMBER, id="number-bool"),
        pytest.param(
            log(EmployeeAttendanceNumber=["E042"]), INVALID_EMPLOYEE_NUMBER, id="number-list"
        ),
        pytest.param(log(EmployeeAttendanceNumber={}), INVALID_EMPLOYEE_NUMBER, id="number-object"),
        pytest.param(
            log(EmployeeAttendanceNumber="E\x0042"), INVALID_EMPLOYEE_NUMBER, id="number-nul"
        ),
    ],
)
def test_check_log_rejects(item: object, reason: str) -> None:
    result = check_log(7, item, devices=DEVICES, policy=POLICY, now=NOW)
    assert isinstance(result, Rejection)
    assert (result.index, result.reason) == (7, reason)
    assert result.reason in REASONS
    assert result.message


@pytest.mark.parametrize(
    "field", ["DeviceIdentifier", "EmployeeAttendanceNumber", "Timestamp", "Status"]
)
@pytest.mark.parametrize("absent", [MISSING, None], ids=["missing", "null"])
def test_invalid_log_message_names_the_field(field: str, absent: object) -> None:
    result = judge(log(**{field: absent}))
    assert isinstance(result, Rejection)
    assert result.reason == INVALID_LOG
    assert field in result.message


# --- order: the earlier rule wins -----------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        pytest.param(
            log(Status=MISSING, Timestamp="bad"),
            INVALID_LOG,
            id="missing-field-beats-bad-timestamp",
        ),
        pytest.param(
            log(DeviceIdentifier=42, Status=9), INVALID_LOG, id="non-string-device-beats-bad-status"
        ),
        pytest.param(
            log(Timestamp=MISSING, Status=9), INVALID_LOG, id="missing-field-beats-bad-status"
        ),
        pytest.param(
            log(Status=2, Timestamp="bad"), INVALID_STATUS, id="bad-status-beats-bad-timestamp"
        ),
        pytest.param(
            log(Status=2, DeviceIdentifier="gate-unknown"),
            INVALID_STATUS,
            id="bad-status-beats-unknown-device",
        ),
        pytest.param(
            log(Status="in", EmployeeAttendanceNumber=""),
            INVALID_STATUS,
            id="bad-status-beats-bad-number",
        ),
        pytest.param(
            log(Timestamp="bad", DeviceIdentifier="gate-unknown"),
            INVALID_TIMESTAMP,
            id="bad-timestamp-beats-unknown-device",
        ),
        pytest.param(
            log(Timestamp="bad", DeviceIdentifier=DISABLED_GUID),
            INVALID_TIMESTAMP,
            id="bad-timestamp-beats-disabled-device",
        ),
        pytest.param(
            log(DeviceIdentifier="gate-unknown", Timestamp="2026-01-01T00:00:00"),
            UNKNOWN_DEVICE,
            id="unknown-device-beats-too-old",
        ),
        pytest.param(
            log(DeviceIdentifier=DISABLED_GUID, Timestamp="2027-01-01T00:00:00"),
            DEVICE_DISABLED,
            id="disabled-device-beats-in-future",
        ),
        pytest.param(
            log(DeviceIdentifier=DISABLED_GUID, EmployeeAttendanceNumber=""),
            DEVICE_DISABLED,
            id="disabled-device-beats-bad-number",
        ),
        pytest.param(
            log(Timestamp="2026-01-01T00:00:00", EmployeeAttendanceNumber=""),
            TOO_OLD,
            id="too-old-beats-bad-number",
        ),
        pytest.param(
            log(Timestamp="2027-01-01T00:00:00", EmployeeAttendanceNumber=[1]),
            IN_FUTURE,
            id="in-future-beats-bad-number",
        ),
    ],
)
def test_earlier_rule_wins(item: object, reason: str) -> None:
    result = judge(item)
    assert isinstance(result, Rejection)
    assert result.reason == reason


# --- what passes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(0, 0, id="int-0"),
        pytest.param(1, 1, id="int-1"),
        pytest.param("0", 0, id="string-0"),
        pytest.param("1", 1, id="string-1"),
    ],
)
def test_status_accepted(status: object, expected: int) -> None:
    candidate = accepted(log(Status=status))
    assert candidate.status == expected
    assert type(candidate.status) is int


def test_candidate_fields() -> None:
    item = log(
        DeviceIdentifier=" {" + GUID.upper() + "} ",
        EmployeeAttendanceNumber="  E042 ",
        Timestamp="2026-12-03 09:15:30.987",
        Status="1",
    )
    result = check_log(4, item, devices=DEVICES, policy=POLICY, now=NOW)
    assert result == Candidate(
        index=4,
        device_id=1,
        employee_number="E042",
        instant=datetime(2026, 12, 3, 9, 15, 30, tzinfo=UTC),
        local_wall=datetime(2026, 12, 3, 9, 15, 30),
        status=1,
    )


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        pytest.param(42, "42", id="int"),
        pytest.param("  42 ", "42", id="string-trimmed"),
        pytest.param("n" * 64, "n" * 64, id="64-chars"),
    ],
)
def test_employee_number_accepted(number: object, expected: str) -> None:
    assert accepted(log(EmployeeAttendanceNumber=number)).employee_number == expected


def test_unknown_extra_fields_ignored() -> None:
    plain = accepted(log())
    extra = accepted(log(Location="Lobby", Verified=True, Extra={"a": [1]}, deviceidentifier="x"))
    assert extra == plain


@pytest.mark.parametrize(
    ("device", "policy", "timestamp", "instant"),
    [
        pytest.param(
            "gate-kolkata",
            Policy(zone=NEW_YORK),
            "2026-12-03T15:30:00",
            datetime(2026, 12, 3, 10, 0, 0),
            id="device-zone-overrides-tenant",
        ),
        pytest.param(
            GUID,
            Policy(zone=NEW_YORK),
            "2026-12-03T04:00:00",
            datetime(2026, 12, 3, 9, 0, 0),
            id="tenant-zone-when-device-has-none",
        ),
        pytest.param(
            "gate-new-york",
            Policy(zone=KOLKATA),
            "2026-12-03T15:30:00+05:30",
            datetime(2026, 12, 3, 10, 0, 0),
            id="explicit-offset-beats-device-zone",
        ),
        pytest.param(
            GUID,
            Policy(zone=KOLKATA),
            "2026-12-03T09:00:00Z",
            datetime(2026, 12, 3, 9, 0, 0),
            id="zulu-beats-tenant-zone",
        ),
    ],
)
def test_zone_used_for_the_instant(
    device: str, policy: Policy, timestamp: str, instant: datetime
) -> None:
    candidate = accepted(log(DeviceIdentifier=device, Timestamp=timestamp), policy)
    assert candidate.instant == instant.replace(tzinfo=UTC)
    assert candidate.local_wall == datetime.fromisoformat(timestamp).replace(tzinfo=None)


# --- the window -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "timestamp", "reason"),
    [
        # default policy: 30 days back, 300 s ahead of NOW = 2026-12-03T10:00:00Z
        pytest.param(POLICY, "2026-11-03T10:00:00", None, id="exactly-30-days-old"),
        pytest.param(POLICY, "2026-11-03T09:59:59", TOO_OLD, id="30-days-and-1s-old"),
        pytest.param(POLICY, "2026-11-03T09:59:59.999", TOO_OLD, id="fraction-truncated-old"),
        pytest.param(POLICY, "2026-12-03T10:05:00", None, id="exactly-tolerance-ahead"),
        pytest.param(POLICY, "2026-12-03T10:05:00.999", None, id="fraction-truncated-ahead"),
        pytest.param(POLICY, "2026-12-03T10:05:01", IN_FUTURE, id="tolerance-and-1s-ahead"),
        pytest.param(POLICY, "2026-12-03T10:00:00", None, id="now"),
        pytest.param(
            POLICY, "2026-12-03T15:35:00+05:30", None, id="offset-exactly-tolerance-ahead"
        ),
        pytest.param(POLICY, "2026-12-03T15:35:01+05:30", IN_FUTURE, id="offset-1s-too-far"),
        # custom policy: 7 days back, no tolerance
        pytest.param(Policy(UTC, 7, 0), "2026-11-26T10:00:00", None, id="custom-exactly-7-days"),
        pytest.param(Policy(UTC, 7, 0), "2026-11-26T09:59:59", TOO_OLD, id="custom-7-days-1s"),
        pytest.param(Policy(UTC, 7, 0), "2026-12-03T10:00:00", None, id="custom-now"),
        pytest.param(Policy(UTC, 7, 0), "2026-12-03T10:00:01", IN_FUTURE, id="custom-1s-ahead"),
        # the window is judged on the instant, not the wall time
        pytest.param(
            Policy(KOLKATA), "2026-12-03T15:35:00", None, id="kolkata-wall-exactly-tolerance"
        ),
        pytest.param(Policy(KOLKATA), "2026-12-03T15:35:01", IN_FUTURE, id="kolkata-wall-1s-ahead"),
        pytest.param(
            Policy(NEW_YORK), "2026-11-03T05:00:00", None, id="new-york-wall-exactly-30-days"
        ),
        pytest.param(
            Policy(NEW_YORK), "2026-11-03T04:59:59", TOO_OLD, id="new-york-wall-30-days-1s"
        ),
    ],
)
def test_window_edges(policy: Policy, timestamp: str, reason: str | None) -> None:
    result = judge(log(Timestamp=timestamp), policy)
    if reason is None:
        assert isinstance(result, Candidate), result
    else:
        assert isinstance(result, Rejection)
        assert result.reason == reason


@pytest.mark.parametrize(
    ("timestamp", "shown"),
    [
        pytest.param("2026-10-01T09:00:00", "2026-10-01T09:00:00", id="spec-example"),
        pytest.param(" 2026-10-01T09:00:00 ", "2026-10-01T09:00:00", id="trimmed"),
    ],
)
def test_too_old_message_has_the_spec_shape(timestamp: str, shown: str) -> None:
    result = check_log(3, log(Timestamp=timestamp), devices=DEVICES, policy=POLICY, now=NOW)
    assert result == Rejection(3, TOO_OLD, f"Timestamp {shown} is more than 30 days old")


def test_too_old_message_states_the_tenant_window() -> None:
    result = judge(log(Timestamp="2026-11-20T09:00:00"), Policy(UTC, backdate_days=7))
    assert isinstance(result, Rejection)
    assert result.message == "Timestamp 2026-11-20T09:00:00 is more than 7 days old"


@pytest.mark.parametrize(
    ("device", "timestamp", "reasons"),
    [
        pytest.param(
            GUID,
            "0001-01-01T00:00:00+01:00",
            {INVALID_TIMESTAMP, TOO_OLD},
            id="year-1-positive-offset",
        ),
        pytest.param(
            "gate-kolkata",
            "0001-01-01T00:00:00",
            {INVALID_TIMESTAMP, TOO_OLD},
            id="year-1-in-kolkata",
        ),
        pytest.param(
            GUID,
            "9999-12-31T23:59:59-01:00",
            {INVALID_TIMESTAMP, IN_FUTURE},
            id="year-9999-negative-offset",
        ),
        pytest.param(
            "gate-new-york",
            "9999-12-31T23:00:00",
            {INVALID_TIMESTAMP, IN_FUTURE},
            id="year-9999-in-new-york",
        ),
    ],
)
def test_unrepresentable_instant_rejected_not_raised(
    device: str, timestamp: str, reasons: set[str]
) -> None:
    # One bad log must be rejected alone, never fail the whole batch with an exception.
    result = judge(log(DeviceIdentifier=device, Timestamp=timestamp))
    assert isinstance(result, Rejection)
    assert result.reason in reasons


# --- helpers --------------------------------------------------------------------------------


# --- rule 7: the employee -------------------------------------------------------------------

CANDIDATE = Candidate(
    index=5,
    device_id=1,
    employee_number="E042",
    instant=datetime(2026, 12, 2, 19, 30, 0, tzinfo=UTC),
    local_wall=datetime(2026, 12, 3, 1, 0, 0),  # Kolkata wall time: one local day later than UTC
    status=0,
)
HOLD = Policy(zone=KOLKATA, hold_unknown_employees=True)
REJECT = Policy(zone=KOLKATA, hold_unknown_employees=False)


@pytest.mark.parametrize(
    ("employee", "policy"),
    [
        pytest.param(EmployeeRef(9, active=True), HOLD, id="active"),
        pytest.param(EmployeeRef(9, active=True), REJECT, id="active-under-reject-policy"),
        pytest.param(
            EmployeeRef(9, active=True, left_on=date(2026, 12, 3)), HOLD, id="punch-on-left-on"
        ),
        pytest.param(
            EmployeeRef(9, active=True, left_on=date(2026, 12, 31)), HOLD, id="leaves-later"
        ),
    ],
)
def test_check_employee_matched(employee: EmployeeRef, policy: Policy) -> None:
    assert check_employee(CANDIDATE, employee, policy) is employee


def test_unknown_employee_held_under_hold_policy() -> None:
    assert check_employee(CANDIDATE, None, HOLD) is None


def test_unknown_employee_held_by_default() -> None:
    assert check_employee(CANDIDATE, None, Policy(zone=UTC)) is None


def test_unknown_employee_rejected_under_reject_policy() -> None:
    result = check_employee(CANDIDATE, None, REJECT)
    assert isinstance(result, Rejection)
    assert (result.index, result.reason) == (5, UNKNOWN_EMPLOYEE)
    assert "E042" in result.message


@pytest.mark.parametrize(
    ("employee", "candidate"),
    [
        pytest.param(EmployeeRef(9, active=False), CANDIDATE, id="inactive"),
        pytest.param(
            EmployeeRef(9, active=False, left_on=date(2026, 12, 31)),
            CANDIDATE,
            id="inactive-with-future-left-on",
        ),
        pytest.param(
            EmployeeRef(9, active=True, left_on=date(2026, 12, 2)),
            CANDIDATE,
            id="local-date-after-left-on-though-utc-date-is-not",
        ),
        pytest.param(
            EmployeeRef(9, active=True, left_on=date(2026, 11, 1)), CANDIDATE, id="left-long-ago"
        ),
    ],
)
def test_check_employee_inactive(employee: EmployeeRef, candidate: Candidate) -> None:
    result = check_employee(candidate, employee, HOLD)
    assert isinstance(result, Rejection)
    assert (result.index, result.reason) == (5, EMPLOYEE_INACTIVE)
    assert "E042" in result.message


def test_left_on_compares_the_local_date_not_the_utc_date() -> None:
    # New York evening of 2 Dec is already 3 Dec in UTC; the punch is still on the last day.
    candidate = replace(
        CANDIDATE,
        instant=datetime(2026, 12, 3, 4, 30, 0, tzinfo=UTC),
        local_wall=datetime(2026, 12, 2, 23, 30, 0),
    )
    employee = EmployeeRef(9, active=True, left_on=date(2026, 12, 2))
    assert check_employee(candidate, employee, HOLD) is employee


# --- rule 8: the natural key ----------------------------------------------------------------


def _key_of(**fields: Any) -> tuple[object, ...]:
    return natural_key(accepted(log(**fields), Policy(zone=KOLKATA)))


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"Timestamp": "2026-12-03T14:30:00"}, id="same-text"),
        pytest.param({"Timestamp": "2026-12-03T14:30:00.123"}, id="milliseconds"),
        pytest.param({"Timestamp": "2026-12-03 14:30:00.999999"}, id="space-and-micros"),
        pytest.param({"Timestamp": "2026-12-03T09:00:00Z"}, id="same-instant-zulu"),
        pytest.param({"Timestamp": "2026-12-03T04:00:00-05:00"}, id="same-instant-offset"),
        pytest.param({"Status": "0"}, id="status-string"),
        pytest.param({"EmployeeAttendanceNumber": " E042 "}, id="number-padded"),
        pytest.param({"DeviceIdentifier": GUID.upper()}, id="guid-upper"),
        pytest.param({"Extra": 1}, id="extra-field"),
    ],
)
def test_natural_key_equal_for_the_same_punch(fields: dict[str, Any]) -> None:
    base = _key_of(Timestamp="2026-12-03T14:30:00")
    assert _key_of(**{"Timestamp": "2026-12-03T14:30:00", **fields}) == base


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"Timestamp": "2026-12-03T14:30:01"}, id="one-second-later"),
        pytest.param({"Status": 1}, id="other-status"),
        pytest.param({"EmployeeAttendanceNumber": "E043"}, id="other-number"),
        pytest.param({"EmployeeAttendanceNumber": "e042"}, id="number-case"),
        pytest.param({"DeviceIdentifier": "gate-kolkata"}, id="other-device"),
    ],
)
def test_natural_key_differs_for_another_punch(fields: dict[str, Any]) -> None:
    base = _key_of(Timestamp="2026-12-03T14:30:00")
    assert _key_of(**{"Timestamp": "2026-12-03T14:30:00", **fields}) != base


def test_natural_key_int_and_string_number_agree() -> None:
    assert _key_of(EmployeeAttendanceNumber=42) == _key_of(EmployeeAttendanceNumber="42")


def test_natural_key_ignores_index() -> None:
    first = accepted(log())
    assert natural_key(first) == natural_key(replace(first, index=99))


# --- judge_batch: the fast path gives check_log's answer, item by item ----------------------

_DEVICE_VALUES = [
    GUID,
    GUID.upper(),
    "{" + GUID + "}",
    f" {GUID}",
    DISABLED_GUID,
    "gate-kolkata",
    "gate-new-york",
    "gate-kolkata ",
    "nowhere",
    "",
    7,
    None,
    MISSING,
]
_NUMBER_VALUES = [
    "E042",
    "e 42",
    " E042",
    "E-42",
    "É42",
    "E" * 64,
    "E" * 65,
    "",
    42,
    0,
    -3,
    10**18,
    10**70,
    True,
    4.2,
    None,
    ["E1"],
    MISSING,
]
_STAMP_VALUES = [
    "2026-12-03T09:00:00",
    "2026-12-03 09:00:00",
    "2026-12-03t09:00:00",
    "2026-12-03T09:00:00.999",
    "2026-12-03T09:00:00Z",
    "2026-12-03T09:00:00+05:30",
    " 2026-12-03T09:00:00",
    "2026-02-30T09:00:00",
    "2026-12-03T24:00:00",
    "2026-11-01T01:30:00",
    "2026-03-08T02:30:00",
    "2025-01-01T00:00:00",
    "2026-12-04T09:00:00",
    "2026-12-03T10:04:59",
    "٢٠٢٦-12-03T09:00:00",
    "",
    20261203,
    None,
    MISSING,
]
_STATUS_VALUES = [0, 1, "0", "1", 2, -1, True, False, 0.0, None, MISSING]


def _items(count: int, seed: int) -> list[object]:
    """Logs whose every field is, half the time, a usual value (so the fast path is taken
    often) and otherwise any of the values above."""
    chooser = random.Random(seed)

    def pick(values: list[object], usual: list[object]) -> object:
        return chooser.choice(usual if chooser.random() < 0.5 else values)

    items: list[object] = [[], "text", 3, None]
    for _ in range(count):
        items.append(
            log(
                DeviceIdentifier=pick(_DEVICE_VALUES, [GUID, "gate-kolkata", "gate-new-york"]),
                EmployeeAttendanceNumber=pick(_NUMBER_VALUES, ["E042", "7", 42]),
                Timestamp=pick(_STAMP_VALUES, ["2026-12-03T09:00:00", "2026-12-03T10:04:59"]),
                Status=pick(_STATUS_VALUES, [0, 1]),
            )
        )
    return items


@pytest.mark.parametrize("policy", [POLICY, Policy(zone=NEW_YORK, backdate_days=400)])
@pytest.mark.parametrize("seed", range(5))
def test_judge_batch_gives_check_log_answers(policy: Policy, seed: int) -> None:
    items = _items(400, seed)
    expected = [
        check_log(i, item, devices=DEVICES, policy=policy, now=NOW) for i, item in enumerate(items)
    ]
    candidates, rejections = judge_batch(items, devices=DEVICES, policy=policy, now=NOW)
    got = sorted([*candidates, *rejections], key=lambda r: r.index)
    assert got == expected
    assert any(isinstance(r, Candidate) for r in got)  # the fast path was exercised
    assert any(isinstance(r, Rejection) for r in got)
