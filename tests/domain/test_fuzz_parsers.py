"""Property tests (hypothesis) for the pure parsers of ``punchlog.domain``: whatever a client
sends, they answer with their documented result types (a value, ``None``, a ``Rejection``, or
the one exception they document), the same answer every time, and normalising twice changes
nothing more than normalising once.

Issue 5, item 3 ("bad input at scale"). Every test runs 500 derandomised examples.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from punchlog.domain import identifiers
from punchlog.domain.identifiers import (
    MAX_DEVICE_IDENTIFIER,
    MAX_EMPLOYEE_NUMBER,
    normalize_device_identifier,
    normalize_employee_number,
)
from punchlog.domain.keys import (
    BASE62,
    CHECKSUM_LENGTH,
    PREFIX,
    PUBLIC_ALPHABET,
    PUBLIC_ID_LENGTH,
    SECRET_LENGTH,
    ParsedKey,
    format_key,
    parse_key,
)
from punchlog.domain.logs import (
    FIELDS,
    REASONS,
    Candidate,
    DeviceRef,
    Policy,
    Rejection,
    check_log,
    judge_batch,
)
from punchlog.domain.times import (
    Timestamp,
    load_zone,
    local_isoformat,
    parse_timestamp,
    to_instant,
    utc_isoformat,
)

EXAMPLES = 500
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,  # write no .hypothesis/ directory into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_CONTROL = {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}

# Zones with the awkward cases: half-hour and 45-minute offsets, 30-minute DST (Lord Howe),
# southern-hemisphere DST, a zone that skipped a whole day (Apia, 2011-12-30).
ZONE_NAMES = (
    "UTC",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Europe/Berlin",
    "America/New_York",
    "America/St_Johns",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
)
ZONES = tuple(load_zone(name) for name in ZONE_NAMES)
zones = st.sampled_from(ZONES)

# --- strategies ----------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**80), max_value=10**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=20) | st.sampled_from(FIELDS), children, max_size=6)
    ),
    max_leaves=25,
)

offsets = st.one_of(
    st.just(""),
    st.sampled_from(["Z", "z"]),
    st.builds(
        lambda sign, hours, minutes, colon: f"{sign}{hours:02d}{colon}{minutes:02d}",
        st.sampled_from("+-"),
        st.integers(0, 99),
        st.integers(0, 99),
        st.sampled_from(["", ":"]),
    ),
)
fractions = st.one_of(
    st.just(""),
    st.builds(
        lambda sep, digits: sep + digits,
        st.sampled_from(".,"),
        st.text("0123456789", min_size=1, max_size=30),
    ),
)


@st.composite
def timestamp_like(draw: st.DrawFn) -> str:
    """Text shaped like a device timestamp, with every field possibly out of range."""
    year, month, day = (
        draw(st.integers(0, 9999)),
        draw(st.integers(0, 99)),
        draw(st.integers(0, 99)),
    )
    hour, minute, second = (
        draw(st.integers(0, 99)),
        draw(st.integers(0, 99)),
        draw(st.integers(0, 99)),
    )
    sep = draw(st.sampled_from("Tt "))
    pad = draw(st.sampled_from(["", " ", "\t", "\n ", "\u3000"]))
    return (
        f"{pad}{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}"
        f"{draw(fractions)}{draw(offsets)}{pad}"
    )


timestamp_texts = st.one_of(
    st.text(),
    st.text(alphabet="0123456789-:TZ+., ", max_size=40),
    timestamp_like(),
)


@st.composite
def valid_timestamps(draw: st.DrawFn) -> tuple[str, datetime, timedelta | None]:
    """A timestamp any compliant device could send: (text, wall it names, offset)."""
    wall = draw(
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))
    )
    offset: timedelta | None = draw(
        st.none()
        | st.builds(lambda m: timedelta(minutes=m), st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    )
    sep = draw(st.sampled_from("Tt "))
    text = wall.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    if len(str(wall.year)) < 4:  # strftime does not pad the year on every platform
        text = f"{wall.year:04d}" + text[text.index("-") :]
    if draw(st.booleans()):
        text += (
            draw(st.sampled_from(".,"))
            + f"{wall.microsecond:06d}"
            + draw(st.text("0123456789", max_size=6))
        )
    if offset is not None:
        if offset == timedelta(0) and draw(st.booleans()):
            text += draw(st.sampled_from("Zz"))
        else:
            sign = "-" if offset < timedelta(0) else "+"
            minutes = abs(offset) // timedelta(minutes=1)
            text += f"{sign}{minutes // 60:02d}{draw(st.sampled_from(['', ':']))}{minutes % 60:02d}"
    return text, wall.replace(microsecond=0), offset


def _format(stamp: Timestamp) -> str:
    text = f"{stamp.wall.year:04d}" + stamp.wall.isoformat()[stamp.wall.isoformat().index("-") :]
    if stamp.offset is None:
        return text
    sign = "-" if stamp.offset < timedelta(0) else "+"
    minutes = abs(stamp.offset) // timedelta(minutes=1)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _parsed(value: str) -> Timestamp:
    parsed = parse_timestamp(value)
    assert parsed is not None, value
    return parsed


# --- times.parse_timestamp ------------------------------------------------------------------


@FUZZ
@given(timestamp_texts)
@example("")
@example("2026-02-29T00:00:00")  # not a leap year
@example("2026-12-03T23:59:60")  # leap second
@example("2026-12-03T15:43:06+24:00")
@example("2026-12-03T15:43:06." + "9" * 10_000)
@example(
    "\u0662\u0660\u0662\u0666-\u0661\u0662-\u0660\u0663T15:43:06"
)  # Arabic-Indic digits are digits to str.isdigit, not to ISO 8601
@example("2026-12-03T15:43:06\x00")
def test_parse_timestamp_returns_a_timestamp_or_none(text: str) -> None:
    first = parse_timestamp(text)
    assert first is None or isinstance(first, Timestamp)
    assert parse_timestamp(text) == first  # deterministic
    if first is None:
        return
    assert first.wall.tzinfo is None
    assert first.wall.microsecond == 0  # fractions are dropped
    if first.offset is not None:
        assert abs(first.offset) < timedelta(hours=24)
        assert first.offset % timedelta(minutes=1) == timedelta(0)
    assert parse_timestamp(f"  {text}\t") == first  # surrounding whitespace changes nothing
    assert parse_timestamp(_format(first)) == first  # and what it read, written out, reads back


@FUZZ
@given(valid_timestamps())
def test_parse_timestamp_reads_every_compliant_timestamp(
    case: tuple[str, datetime, timedelta | None],
) -> None:
    text, wall, offset = case
    parsed = _parsed(text)
    assert parsed.wall == wall
    assert parsed.offset == offset


# --- times.to_instant ------------------------------------------------------------------------


@FUZZ
@given(valid_timestamps(), zones)
def test_to_instant_is_utc_whole_seconds_or_overflow(
    case: tuple[str, datetime, timedelta | None], zone: tzinfo
) -> None:
    stamp = _parsed(case[0])
    try:
        instant = to_instant(stamp, zone)
    except OverflowError:  # documented: the instant falls outside years 1-9999
        with pytest.raises(OverflowError):
            to_instant(stamp, zone)  # and deterministically so
        return
    assert to_instant(stamp, zone) == instant
    assert instant.utcoffset() == timedelta(0)
    assert instant.microsecond == 0
    if stamp.offset is not None:  # an explicit offset wins over the zone
        assert instant.replace(tzinfo=None) + stamp.offset == stamp.wall
        assert to_instant(stamp, UTC) == instant


@FUZZ
@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 12, 31, 23, 59, 59)),
    zones,
)
@example(datetime(2026, 3, 29, 2, 30), load_zone("Europe/Berlin"))  # in the spring gap
@example(datetime(2026, 10, 25, 2, 30), load_zone("Europe/Berlin"))  # in the autumn overlap
@example(datetime(2011, 12, 30, 12, 0), load_zone("Pacific/Apia"))  # a day that never was
def test_to_instant_follows_the_documented_dst_rule(wall: datetime, zone: tzinfo) -> None:
    """Wall time read in a zone: the same wall time back, except in a gap (the instant shown
    later, by the gap); in an overlap the earlier of the two instants."""
    wall = wall.replace(microsecond=0)
    instant = to_instant(Timestamp(wall=wall, offset=None), zone)
    shown = instant.astimezone(zone).replace(tzinfo=None)
    if shown == wall:
        later = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
        assert instant <= later  # overlap: the earlier instant
    else:  # gap: read with the offset before the change, so shown later by the gap
        assert timedelta(0) < shown - wall <= timedelta(days=1)


@FUZZ
@given(valid_timestamps(), zones)
def test_local_and_utc_isoformat_read_back_as_the_same_instant(
    case: tuple[str, datetime, timedelta | None], zone: tzinfo
) -> None:
    stamp = _parsed(case[0])
    # Local mean time offsets (before ~1900) have seconds, which ISO 8601 offsets cannot
    # carry: move such walls to 2024 (a leap year, so 29 February stays a date).
    if not datetime(1971, 1, 1) <= stamp.wall <= datetime(2100, 1, 1):
        stamp = Timestamp(wall=stamp.wall.replace(year=2024), offset=stamp.offset)
    instant = to_instant(stamp, zone)
    local = _parsed(local_isoformat(stamp.wall, instant))
    assert local.wall == stamp.wall
    assert to_instant(local, ZONES[1]) == instant
    utc = _parsed(utc_isoformat(instant))
    assert utc.offset == timedelta(0)
    assert to_instant(utc, ZONES[2]) == instant


# --- times.load_zone ------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=40) | st.sampled_from(ZONE_NAMES) | st.text("abcEU/._-", max_size=20))
@example("../../etc/passwd")
@example("Europe")
@example("Europe/Berlin/")
@example("tzdata.zi")
@example("UTC\x00")
@example("x" * 5000)
def test_load_zone_gives_a_zone_or_value_error(name: str) -> None:
    try:
        zone = load_zone(name)
    except ValueError:
        with pytest.raises(ValueError, match="Unknown time zone"):
            load_zone(name)
        return
    assert isinstance(zone, tzinfo)
    assert load_zone(name) is zone
    assert zone.utcoffset(datetime(2026, 1, 1)) is not None


# --- identifiers ----------------------------------------------------------------------------

hex_digit = st.sampled_from("0123456789abcdefABCDEF")


@st.composite
def guids(draw: st.DrawFn) -> str:
    groups = [draw(st.text(hex_digit, min_size=n, max_size=n)) for n in (8, 4, 4, 4, 12)]
    return "-".join(groups)


device_identifiers = st.one_of(
    st.text(),
    st.text(max_size=200),
    guids(),
    st.builds(lambda g: "{" + g + "}", guids()),
    st.builds(
        lambda pad, g, pad2: pad + g + pad2,
        st.sampled_from(["", " ", "\t", "\u2003"]),
        guids(),
        st.sampled_from(["", "\n", " \x85"]),
    ),
    st.text(alphabet=" \t\n\x00\x1f\x7f\x85\x9f\u00a0\u2028abc{}-", max_size=20),
)


@FUZZ
@given(device_identifiers)
@example("")
@example(" " * 10)
@example("\x85gate\x85")  # NEL: whitespace to str.strip and a C1 control
@example("{4F5B878D-7FE4-4B34-8EED-651B3D20C4C2")  # an unbalanced brace is not a GUID
@example("x" * (MAX_DEVICE_IDENTIFIER + 1))
def test_normalize_device_identifier_is_idempotent_and_clean(value: str) -> None:
    once = normalize_device_identifier(value)
    assert once == identifiers._normalize_device_identifier(value)  # the cache changes nothing
    if once is None:
        return
    assert normalize_device_identifier(once) == once  # idempotent
    assert once == once.strip()
    assert 1 <= len(once) <= MAX_DEVICE_IDENTIFIER
    assert not _CONTROL.intersection(once)


@FUZZ
@given(guids(), st.sampled_from(["", " ", "\t"]))
def test_guids_compare_case_insensitively_with_or_without_braces(guid: str, pad: str) -> None:
    expected = guid.lower()
    for form in (guid, guid.upper(), guid.lower(), "{" + guid + "}", "{" + guid.upper() + "}"):
        assert normalize_device_identifier(pad + form + pad) == expected


@FUZZ
@given(json_values | st.integers(min_value=-(10**70), max_value=10**70))
@example(10**64 - 1)
@example(10**64)
@example(-(10**63))
@example(True)
@example("  E1\t")
@example("E1\x00")
@example("x" * (MAX_EMPLOYEE_NUMBER + 1))
def test_normalize_employee_number_is_idempotent_and_clean(value: Any) -> None:
    once = normalize_employee_number(value)
    assert normalize_employee_number(value) == once
    if once is None:
        assert not (
            type(value) is str
            and 0 < len(value.strip()) <= 64
            and not _CONTROL.intersection(value.strip())
        )
        return
    assert isinstance(once, str)
    assert normalize_employee_number(once) == once  # idempotent
    assert once == once.strip()
    assert 1 <= len(once) <= MAX_EMPLOYEE_NUMBER
    assert not _CONTROL.intersection(once)
    if type(value) is int:
        assert once == str(value)
    else:
        assert type(value) is str
        assert once == value.strip()


# --- keys -----------------------------------------------------------------------------------

public_ids = st.text(PUBLIC_ALPHABET, min_size=PUBLIC_ID_LENGTH, max_size=PUBLIC_ID_LENGTH)
secrets_ = st.text(BASE62, min_size=SECRET_LENGTH, max_size=SECRET_LENGTH)
KEY_LENGTH = len(PREFIX) + PUBLIC_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH


@FUZZ
@given(public_ids, secrets_)
def test_a_formatted_key_parses_to_its_id_and_hash(public_id: str, secret: str) -> None:
    key = format_key(public_id, secret)
    assert len(key) == KEY_LENGTH
    assert parse_key(key) == ParsedKey(public_id, hashlib.sha256(key.encode()).hexdigest())


@FUZZ
@given(
    public_ids,
    secrets_,
    st.integers(0, KEY_LENGTH - 1),
    st.one_of(st.sampled_from(BASE62 + "_"), st.characters()),
)
def test_a_key_with_any_one_character_changed_fails(
    public_id: str, secret: str, position: int, replacement: str
) -> None:
    key = format_key(public_id, secret)
    if key[position] == replacement:
        replacement = "0" if key[position] != "0" else "1"
    changed = key[:position] + replacement + key[position + 1 :]
    assert changed != key
    assert parse_key(changed) is None


@FUZZ
@given(public_ids, secrets_, st.integers(0, KEY_LENGTH - 1), st.sampled_from(BASE62))
def test_a_key_with_a_character_dropped_or_added_fails(
    public_id: str, secret: str, position: int, extra: str
) -> None:
    key = format_key(public_id, secret)
    assert parse_key(key[:position] + key[position + 1 :]) is None
    assert parse_key(key[:position] + extra + key[position:]) is None


@FUZZ
@given(
    st.text()
    | st.builds(lambda s: PREFIX + s, st.text(PUBLIC_ALPHABET + BASE62 + "_", max_size=60))
    | st.builds(
        lambda p, s, c: f"{PREFIX}{p}_{s}{c}",
        public_ids,
        secrets_,
        st.text(BASE62, min_size=6, max_size=6),
    )
)
@example("plk_" + "a" * 10 + "_" + "A" * 38)
@example("plk_" + "a" * 10 + "_" + "٣" * 38)  # non-ASCII digits
def test_parse_key_gives_a_parsed_key_or_none(text: str) -> None:
    parsed = parse_key(text)
    assert parse_key(text) == parsed
    if parsed is not None:
        assert isinstance(parsed, ParsedKey)
        assert text == format_key(
            parsed.public_id, text[len(PREFIX) + PUBLIC_ID_LENGTH + 1 : -CHECKSUM_LENGTH]
        )
        assert parsed.digest == hashlib.sha256(text.encode()).hexdigest()


@FUZZ
@given(st.text(max_size=15), st.text(max_size=40))
def test_format_key_refuses_bad_parts_with_value_error(public_id: str, secret: str) -> None:
    good = (
        len(public_id) == PUBLIC_ID_LENGTH
        and set(public_id) <= set(PUBLIC_ALPHABET)
        and len(secret) == SECRET_LENGTH
        and set(secret) <= set(BASE62)
    )
    if good:
        assert parse_key(format_key(public_id, secret)) is not None
    else:
        with pytest.raises(ValueError, match="must be"):
            format_key(public_id, secret)


# --- logs.check_log ---------------------------------------------------------------------------

NOW = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
KOLKATA = load_zone("Asia/Kolkata")
GUID = "4f5b878d-7fe4-4b34-8eed-651b3d20c4c2"
DISABLED = "0c8f2a4e-1d7b-4c55-9a3e-2b6f0e9d1a77"
DEVICES = {
    GUID: DeviceRef(id=1, active=True),
    DISABLED: DeviceRef(id=2, active=False),
    "gate-berlin": DeviceRef(id=3, active=True, zone=load_zone("Europe/Berlin")),
    "gate-lord-howe": DeviceRef(id=4, active=True, zone=load_zone("Australia/Lord_Howe")),
}
ACTIVE_IDS = {ref.id for ref in DEVICES.values() if ref.active}
POLICY = Policy(zone=KOLKATA)

near_walls = st.builds(
    lambda seconds: (NOW + timedelta(seconds=seconds)).astimezone(KOLKATA).replace(tzinfo=None),
    st.integers(-40 * 86400, 2 * 86400)
    | st.sampled_from([-31 * 86400, -30 * 86400 - 20_000, -86400, -600, 0, 301 + 19_800, 86400]),
)
near_stamps = st.builds(
    lambda wall, sep, frac, off: wall.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + frac + off,
    near_walls,
    st.sampled_from("T "),
    st.sampled_from(["", "", ".5", ",999999", ".0000000001"]),
    st.sampled_from(["", "", "", "Z", "+05:30", "+0530", "-03:00", "+14:00", "+24:00"]),
)
plausible = {
    "DeviceIdentifier": st.sampled_from(
        [
            GUID,
            GUID.upper(),
            "{" + GUID + "}",
            f" {GUID} ",
            DISABLED,
            "gate-berlin",
            "gate-lord-howe",
            "GATE-BERLIN",
            "nope",
            GUID + "\x00",
        ]
    ),
    "EmployeeAttendanceNumber": st.sampled_from(
        ["E1", " E1 ", "e 1", "", "E\x001", "x" * 65, "E" * 64]
    )
    | st.integers(min_value=-(10**70), max_value=10**70)
    | st.text(max_size=70),
    "Timestamp": near_stamps | near_stamps | timestamp_texts,
    "Status": st.sampled_from([0, 1] * 4 + ["0", "1", 2, -1, True, False, 0.0, 1.0, " 0", "01"]),
}


@st.composite
def log_like(draw: st.DrawFn) -> dict[str, Any]:
    """A log: each field plausible (mostly), hostile or missing, maybe with extra members."""
    item: dict[str, Any] = {}
    for field, values in plausible.items():
        kind = draw(st.sampled_from(["plausible"] * 18 + ["missing", "hostile"]))
        if kind == "missing":
            continue
        item[field] = draw(json_values if kind == "hostile" else values)
    item.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3)))
    return item


items = st.one_of(json_values, log_like(), log_like())


def _check_judged(index: int, item: Any, judged: Candidate | Rejection) -> None:
    assert isinstance(judged, Candidate | Rejection)
    assert judged.index == index
    if isinstance(judged, Rejection):
        assert judged.reason in REASONS
        assert isinstance(judged.message, str)
        assert judged.message
        return
    assert isinstance(item, dict)
    assert judged.device_id in ACTIVE_IDS
    assert judged.status in (0, 1)
    assert type(judged.status) is int
    assert judged.employee_number == normalize_employee_number(item["EmployeeAttendanceNumber"])
    assert judged.instant.utcoffset() == timedelta(0)
    assert judged.instant.microsecond == 0
    assert NOW - timedelta(days=POLICY.backdate_days) <= judged.instant
    assert judged.instant <= NOW + timedelta(seconds=POLICY.future_tolerance_seconds)
    assert judged.local_wall.tzinfo is None
    stamp = parse_timestamp(item["Timestamp"])
    assert stamp is not None
    assert judged.local_wall == stamp.wall


@FUZZ
@given(st.integers(0, 999), items)
@example(
    0,
    {
        "DeviceIdentifier": GUID,
        "EmployeeAttendanceNumber": "E1",
        "Timestamp": "2026-12-03T15:00:00",
        "Status": 0,
    },
)
@example(
    0,
    {
        "DeviceIdentifier": GUID,
        "EmployeeAttendanceNumber": 10**64,
        "Timestamp": "2026-12-03T15:00:00",
        "Status": 0,
    },
)
@example(
    0,
    {
        "DeviceIdentifier": GUID,
        "EmployeeAttendanceNumber": "E1",
        "Timestamp": "0001-01-01T00:00:00",
        "Status": 1,
    },
)
@example(
    0,
    {
        "DeviceIdentifier": GUID,
        "EmployeeAttendanceNumber": "E1",
        "Timestamp": "9999-12-31T23:59:59-23:59",
        "Status": 1,
    },
)
@example(
    0,
    {
        "DeviceIdentifier": GUID,
        "EmployeeAttendanceNumber": "E1",
        "Timestamp": "2026-12-03T15:00:00",
        "Status": float("nan"),
    },
)
@example(0, [[[[[]]]]])
def test_check_log_returns_a_candidate_or_a_rejection(index: int, item: Any) -> None:
    judged = check_log(index, item, devices=DEVICES, policy=POLICY, now=NOW)
    _check_judged(index, item, judged)
    assert check_log(index, item, devices=DEVICES, policy=POLICY, now=NOW) == judged


@FUZZ
@given(st.lists(items, min_size=1, max_size=12))
def test_judge_batch_agrees_with_check_log_on_every_item(batch: list[Any]) -> None:
    """The fast path of judge_batch gives exactly what check_log gives, log by log."""
    candidates, rejections = judge_batch(batch, devices=DEVICES, policy=POLICY, now=NOW)
    expected = [
        check_log(i, item, devices=DEVICES, policy=POLICY, now=NOW) for i, item in enumerate(batch)
    ]
    assert candidates == [j for j in expected if isinstance(j, Candidate)]
    assert rejections == [j for j in expected if isinstance(j, Rejection)]
    for judged in expected:
        _check_judged(judged.index, batch[judged.index], judged)
