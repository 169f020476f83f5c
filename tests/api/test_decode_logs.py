"""decode_logs: the body of POST /v1/logs straight into WireLogs (the one-pass verdict), or the
general path (parse_json). Whatever the body, the two must agree: a body the general path
reads is read to the same values, a body it refuses is refused with the same error, and no
other exception ever comes out. No database: pure functions on bytes."""

from __future__ import annotations

import json
import sys
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import punchlog.api.logs as api_logs
from punchlog.api.logs import decode_logs, parse_json
from punchlog.errors import RequestRejected
from punchlog.services.ingest import Limits, check_batch_size
from punchlog.services.verdicts import UsualBatch, WireLog

FIELDS = ("DeviceIdentifier", "EmployeeAttendanceNumber", "Timestamp", "Status")
GUID = "4f5b878d-7fe4-4b34-8eed-651b3d20c4c2"
LOG = (
    '{"DeviceIdentifier":"' + GUID + '","EmployeeAttendanceNumber":"E1",'
    '"Timestamp":"2026-03-29T10:00:00","Status":0'
)


def _body(*members: str) -> bytes:
    """A one-log body: the usual log with ``members`` (raw JSON text) added at its end."""
    return ("[" + LOG + "".join("," + m for m in members) + "}]").encode()


def _with(field: str, raw: str) -> bytes:
    """A one-log body with ``field`` set to the raw JSON text ``raw``."""
    log: dict[str, Any] = {
        "DeviceIdentifier": GUID,
        "EmployeeAttendanceNumber": "E1",
        "Timestamp": "2026-03-29T10:00:00",
        "Status": 0,
    }
    log[field] = "@@"
    return json.dumps([log]).replace('"@@"', raw).encode()


USUAL = orjson.dumps(
    [
        {
            "DeviceIdentifier": GUID,
            "EmployeeAttendanceNumber": "E1",
            "Timestamp": "2026-03-29T10:00:00",
            "Status": 0,
        },
        {
            "DeviceIdentifier": "gate-ny",
            "EmployeeAttendanceNumber": 1001,
            "Timestamp": "2026-03-29T10:00:05",
            "Status": 1,
        },
        {  # member order does not matter
            "Status": 1,
            "Timestamp": "2026-03-29T11:00:00",
            "EmployeeAttendanceNumber": "ÄÖ ü",
            "DeviceIdentifier": "  gate-ny ",
        },
    ]
)


def assert_logs_match(batch: UsualBatch) -> None:
    """Each WireLog holds exactly the four values of its parsed object (types included)."""
    items = list(batch)
    assert len(batch.logs) == len(items) == len(batch)
    for log, item in zip(batch.logs, items, strict=True):
        assert isinstance(log, WireLog)
        assert isinstance(item, dict)
        for field in FIELDS:
            assert getattr(log, field) == item[field], field
            assert type(getattr(log, field)) is type(item[field]), field


def _decode(body: bytes) -> Any:
    try:
        return decode_logs(body)
    except RequestRejected:
        raise
    except Exception as exc:  # the body's fault must be a 400, never a 500
        pytest.fail(f"decode_logs raised {exc!r:.200}, not RequestRejected")


def assert_like_parse_json(body: bytes) -> Any:
    """decode_logs(body) answers as parse_json(body) does; returns what it returned."""
    refused: RequestRejected | None = None
    try:
        expected = parse_json(body)
    except RequestRejected as exc:
        refused = exc
    except Exception as exc:
        pytest.fail(f"parse_json itself raised {exc!r:.200}, not RequestRejected")
    if refused is not None:
        caught: RequestRejected | None = None
        got: Any = None
        try:
            got = _decode(body)
        except RequestRejected as exc:
            caught = exc
        assert caught is not None, (
            f"decode_logs returned a {type(got).__name__} for a body parse_json refuses "
            f"({refused}): the one-pass verdict would accept it"
        )
        assert str(caught) == str(refused)
        assert caught.status_code == refused.status_code
        return None
    result = _decode(body)
    if isinstance(result, UsualBatch):
        assert isinstance(expected, list)
        assert len(result) == len(expected)
        assert list(result) == expected
        assert [result[i] for i in range(len(result))] == expected
    else:
        assert type(result) is type(expected)
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 20_000))  # == on a 1010-deep body recurses as deep
        try:
            assert result == expected
        finally:
            sys.setrecursionlimit(limit)
    return result


# --- the usual body ---------------------------------------------------------------------------


def test_a_usual_body_is_a_usual_batch() -> None:
    batch = decode_logs(USUAL)
    assert isinstance(batch, UsualBatch)
    assert list(batch) == orjson.loads(USUAL)
    assert len(batch) == 3
    assert batch[1] == orjson.loads(USUAL)[1]
    assert list(batch[1:]) == orjson.loads(USUAL)[1:]
    assert batch.logs == [
        WireLog(GUID, "E1", "2026-03-29T10:00:00", 0),
        WireLog("gate-ny", 1001, "2026-03-29T10:00:05", 1),
        WireLog("  gate-ny ", "ÄÖ ü", "2026-03-29T11:00:00", 1),
    ]
    assert_logs_match(batch)
    assert_like_parse_json(USUAL)


def test_a_usual_batch_parses_the_body_once_and_only_when_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bytes] = []

    def counting(body: bytes) -> object:
        calls.append(body)
        return parse_json(body)

    monkeypatch.setattr(api_logs, "parse_json", counting)
    batch = decode_logs(USUAL)
    assert isinstance(batch, UsualBatch)
    assert len(batch) == 3
    assert len(batch.logs) == 3
    assert calls == []  # the fast path needs only the WireLogs
    assert list(batch) == orjson.loads(USUAL)
    assert batch[0] == orjson.loads(USUAL)[0]
    assert list(batch) == orjson.loads(USUAL)
    assert calls == [USUAL]


def test_a_log_with_extra_members_goes_the_general_way_and_keeps_them() -> None:
    """msgspec would skip an extra member unchecked (invalid UTF-8, 1e400 inside it), where
    the general parser refuses the body: such a log is not of the usual shape."""
    body = _body('"DeviceName":"Gate"', '"Extra":{"a":[1,2.5,null,true]}', '"Note":null')
    batch = decode_logs(body)
    assert not isinstance(batch, UsualBatch)
    (item,) = list(batch)
    assert item["DeviceName"] == "Gate"
    assert item["Extra"] == {"a": [1, 2.5, None, True]}
    assert item["Note"] is None
    assert list(batch) == orjson.loads(body)


@pytest.mark.parametrize(
    "members",
    [
        ('"Status":1',),  # the last of two wins, as orjson has it
        ('"EmployeeAttendanceNumber":"E2"',),
        ('"EmployeeAttendanceNumber":77',),
        ('"DeviceIdentifier":"gate-ny"',),
        ('"Timestamp":"2026-03-29T11:00:00"',),
        ('"Status":1', '"Status":0', '"Status":1'),
        ('"Status":"1"',),  # the last one is not of the usual type
        ('"Status":null',),
        ('"EmployeeAttendanceNumber":null',),
        ('"Timestamp":5',),
    ],
)
def test_duplicate_members_are_read_alike_by_both_decoders(members: tuple[str, ...]) -> None:
    body = _body(*members)
    result = assert_like_parse_json(body)
    assert result is not None
    assert list(result) == orjson.loads(body)
    if isinstance(result, UsualBatch):
        assert_logs_match(result)


def test_a_first_member_of_another_type_overwritten_by_a_usual_one() -> None:
    body = (
        '[{"Status":"1","DeviceIdentifier":"' + GUID + '","EmployeeAttendanceNumber":null,'
        '"Timestamp":"2026-03-29T10:00:00","EmployeeAttendanceNumber":"E1","Status":1}]'
    ).encode()
    result = assert_like_parse_json(body)
    assert list(result) == [
        {
            "Status": 1,
            "DeviceIdentifier": GUID,
            "EmployeeAttendanceNumber": "E1",
            "Timestamp": "2026-03-29T10:00:00",
        }
    ]
    if isinstance(result, UsualBatch):
        assert_logs_match(result)


# --- any other body: the general path, or its refusal -----------------------------------------

DEEP = 1010  # within orjson's nesting limit (1024)
GENERAL_BODIES: dict[str, bytes] = {
    "status true": _with("Status", "true"),
    "status 1.0": _with("Status", "1.0"),
    'status "1"': _with("Status", '"1"'),
    "status 2**70+1": _with("Status", str(2**70 + 1)),
    "status 1e400": _with("Status", "1e400"),
    "status NaN": _with("Status", "NaN"),
    "number 2**70": _with("EmployeeAttendanceNumber", str(2**70)),
    "number 2**64-1": _with("EmployeeAttendanceNumber", str(2**64 - 1)),
    "number -7": _with("EmployeeAttendanceNumber", "-7"),
    "number 12.0": _with("EmployeeAttendanceNumber", "12.0"),
    "number 1e3": _with("EmployeeAttendanceNumber", "1e3"),
    "number true": _with("EmployeeAttendanceNumber", "true"),
    "device 5": _with("DeviceIdentifier", "5"),
    "timestamp list": _with("Timestamp", '["2026-03-29T10:00:00"]'),
    "missing member": b'[{"DeviceIdentifier":"x","EmployeeAttendanceNumber":"E1","Status":0}]',
    "null member": _with("Timestamp", "null"),
    "null members": b'[{"DeviceIdentifier":null,"EmployeeAttendanceNumber":null,'
    b'"Timestamp":null,"Status":null}]',
    "null log": b"[null]",
    "log a list": b'[["x","E1","2026-03-29T10:00:00",0]]',
    "usual then not": b"[" + _body()[1:-1] + b",5]",
    "object body": b'{"DeviceIdentifier":"x"}',
    "string body": b'"logs"',
    "number body": b"1",
    "null body": b"null",
    "empty array": b"[]",
    "empty array, spaces": b" \n[ ]\t",
    "empty body": b"",
    "whitespace body": b"   ",
    "lone surrogate in number": _with("EmployeeAttendanceNumber", '"\\ud800"'),
    "lone surrogate in device": _with("DeviceIdentifier", '"\\udc00x"'),
    "lone surrogate in timestamp": _with("Timestamp", '"\\ud800"'),
    "lone surrogate in other member": _body('"Note":"\\ud800"'),
    "lone surrogate in a member name": _body('"\\ud800":1'),
    "surrogate pair": _with("EmployeeAttendanceNumber", '"\\ud83d\\ude00"'),
    "invalid utf-8 in device": _with("DeviceIdentifier", '"\xff"').replace(b"\xc3\xbf", b"\xff"),
    "invalid utf-8 in number": _with("EmployeeAttendanceNumber", '"E@"').replace(b"@", b"\xc3("),
    "invalid utf-8 in other member": _body('"Note":"@"').replace(b"@", b"\xc3("),
    "invalid utf-8 in a member name": _body('"@":1').replace(b"@", b"\xff"),
    "utf-8 encoded surrogate in other member": _body('"Note":"@"').replace(b"@", b"\xed\xa0\x80"),
    "overlong utf-8 in other member": _body('"Note":"@"').replace(b"@", b"\xc0\xaf"),
    "invalid utf-8 outside strings": _body() + b"\xff",
    "NaN in other member": _body('"Note":NaN'),
    "Infinity in other member": _body('"Note":-Infinity'),
    "1e400 in other member": _body('"Note":1e400'),
    "-1e400 in other member": _body('"Note":[-1e400]'),
    "2**70 in other member": _body(f'"Note":{2**70}'),
    "trailing garbage": _body() + b"x",
    "trailing array": _body() + b"[]",
    "trailing comma": b"[" + _body()[1:-1] + b",]",
    "byte order mark": b"\xef\xbb\xbf" + _body(),
    "control character in other member": _body('"Note":"a\x01b"'),
    "single quotes": b"[{'Status':0}]",
    "nested 100 deep in other member": _body('"Note":' + "[" * 100 + "]" * 100),
    f"nested {DEEP} deep in other member": _body('"Note":' + "[" * DEEP + "]" * DEEP),
    "nested 5000 deep in other member": _body('"Note":' + "[" * 5000 + "]" * 5000),
    "nested 5000 deep objects": _body('"Note":' + '{"a":' * 5000 + "1" + "}" * 5000),
    # A float number sends the body to the standard library's parser (parse_json).
    f"float number, nested {DEEP} deep in another log": _with(
        "EmployeeAttendanceNumber", "1.5"
    ).replace(b"]", b',{"Note":' + b"[" * DEEP + b"]" * DEEP + b"}]"),
    "float number, nested 100 deep in another log": _with(
        "EmployeeAttendanceNumber", "1.5"
    ).replace(b"]", b',{"Note":' + b"[" * 100 + b"]" * 100 + b"}]"),
}


@pytest.mark.parametrize("body", GENERAL_BODIES.values(), ids=GENERAL_BODIES.keys())
def test_any_body_is_read_or_refused_as_parse_json_does(body: bytes) -> None:
    assert_like_parse_json(body)


def test_true_and_float_statuses_go_the_general_way() -> None:
    for raw, value in [("true", True), ("1.0", 1.0)]:
        result = decode_logs(_with("Status", raw))
        assert not isinstance(result, UsualBatch)
        assert type(result[0]["Status"]) is type(value)  # not read as the int 1


def test_a_big_integer_number_keeps_its_digits() -> None:
    body = _with("EmployeeAttendanceNumber", str(2**70))
    result = assert_like_parse_json(body)
    (item,) = list(result)
    assert item["EmployeeAttendanceNumber"] == 2**70
    assert type(item["EmployeeAttendanceNumber"]) is int
    if isinstance(result, UsualBatch):
        assert_logs_match(result)


def test_an_empty_array_is_refused_whichever_way_it_is_decoded() -> None:
    items = decode_logs(b"[]")
    assert len(items) == 0
    with pytest.raises(RequestRejected, match="empty array"):
        check_batch_size(items, Limits())


def test_a_body_that_is_not_an_array_is_refused_as_such() -> None:
    for body in (b'{"DeviceIdentifier":"x"}', b"null", b"1"):
        with pytest.raises(RequestRejected, match="must be a JSON array"):
            check_batch_size(decode_logs(body), Limits())


# --- fuzzing: the usual body, and small edits of it ---------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
member_values: dict[str, st.SearchStrategy[Any]] = {
    "DeviceIdentifier": st.sampled_from([GUID, " gate-ny", ""]) | json_values,
    "EmployeeAttendanceNumber": st.sampled_from(["E1", 1001, 2**70, -3]) | json_values,
    "Timestamp": st.sampled_from(["2026-03-29T10:00:00", "x"]) | json_values,
    "Status": st.sampled_from([0, 1, 2, True, 1.0, "1"]) | json_values,
}


@st.composite
def json_logs(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 20)) == 0:
        return draw(json_values)
    log: dict[str, Any] = {}
    for field in FIELDS:
        if draw(st.integers(0, 15)) > 0:
            usual = draw(st.integers(0, 3)) > 0
            log[field] = draw(
                member_values[field] if not usual else st.sampled_from([LOG_VALUES[field]])
            )
    for name, value in draw(st.dictionaries(st.text(max_size=5), json_values, max_size=2)).items():
        log[name] = value
    return log


LOG_VALUES: dict[str, Any] = {
    "DeviceIdentifier": GUID,
    "EmployeeAttendanceNumber": "E1",
    "Timestamp": "2026-03-29T10:00:00",
    "Status": 0,
}

# The usual body with members the rules ignore: an edit may land in any of them.
EDITED = USUAL[:-2] + b',"DeviceName":"Gate 1","Meta":{"fw":[1,2.5,null]}}]'
EDIT_BYTES = st.sampled_from(
    [
        *(b'"', b"\\", b"[", b"]", b"{", b"}", b",", b":", b"0", b"9", b"e", b".", b"-", b"+"),
        *(b" ", b"t", b"n", b"N", b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\\u", b"d800"),
        *(b"\x00", b"\n", b"1e999", b"null", b"true"),
    ]
)

FUZZ = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(logs=st.lists(json_logs(), max_size=4), ascii_only=st.booleans())
def test_generated_bodies_are_read_as_parse_json_reads_them(
    logs: list[Any], ascii_only: bool
) -> None:
    body = json.dumps(logs, ensure_ascii=ascii_only).encode()
    result = assert_like_parse_json(body)
    assert result is not None  # json.dumps writes valid JSON
    if isinstance(result, UsualBatch):
        for log, item in zip(result.logs, result, strict=True):
            assert log.DeviceIdentifier == item["DeviceIdentifier"]
            assert log.Timestamp == item["Timestamp"]
            assert log.EmployeeAttendanceNumber == item["EmployeeAttendanceNumber"]
            assert type(log.Status) is int
            if type(item["Status"]) is int:  # orjson reads an integer beyond 64 bits as a float
                assert log.Status == item["Status"]
            else:
                assert type(item["Status"]) is float
                assert abs(log.Status) >= 2**64


@FUZZ
@given(data=st.data())
def test_edited_usual_bodies_are_read_or_refused_as_parse_json_does(data: st.DataObject) -> None:
    body = bytearray(EDITED)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(body)))
        kind = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        if kind == "insert":
            body[at:at] = data.draw(EDIT_BYTES)
        elif kind == "delete":
            del body[at : at + data.draw(st.integers(1, 4))]
        else:
            body[at : at + 1] = data.draw(EDIT_BYTES)
    note(repr(bytes(body)))
    assert_like_parse_json(bytes(body))
