"""Timestamps as devices send them, and the wall-time → instant rule (DST included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from punchlog.domain.times import (
    Timestamp,
    load_zone,
    local_isoformat,
    local_offset,
    parse_timestamp,
    to_instant,
    utc_isoformat,
)

WALL = datetime(2026, 12, 3, 15, 43, 6)


def _hm(hours: int, minutes: int = 0) -> timedelta:
    return timedelta(hours=hours, minutes=minutes)


@pytest.mark.parametrize(
    ("text", "wall", "offset"),
    [
        pytest.param("2026-12-03T15:43:06", WALL, None, id="plain"),
        pytest.param("2026-12-03 15:43:06", WALL, None, id="space-instead-of-T"),
        pytest.param("2026-12-03T15:43:06.5", WALL, None, id="fraction-1-digit"),
        pytest.param("2026-12-03T15:43:06.123", WALL, None, id="fraction-millis"),
        pytest.param("2026-12-03T15:43:06.999999", WALL, None, id="fraction-micros-not-rounded"),
        pytest.param("2026-12-03T15:43:06.123456789012", WALL, None, id="fraction-12-digits"),
        pytest.param("2026-12-03T15:43:06,250", WALL, None, id="fraction-comma"),
        pytest.param("2026-12-03T15:43:06Z", WALL, timedelta(0), id="zulu"),
        pytest.param("2026-12-03T15:43:06.987Z", WALL, timedelta(0), id="fraction-and-zulu"),
        pytest.param("2026-12-03T15:43:06+05:30", WALL, _hm(5, 30), id="plus-offset"),
        pytest.param("2026-12-03T15:43:06-05:00", WALL, -_hm(5), id="minus-offset"),
        pytest.param("2026-12-03T15:43:06-03:30", WALL, -_hm(3, 30), id="minus-half-hour"),
        pytest.param("2026-12-03T15:43:06+00:00", WALL, timedelta(0), id="zero-offset"),
        pytest.param("2026-12-03T15:43:06+23:59", WALL, _hm(23, 59), id="largest-offset"),
        pytest.param("2026-12-03 15:43:06.5+05:45", WALL, _hm(5, 45), id="space-fraction-offset"),
        pytest.param("2028-02-29T00:00:00", datetime(2028, 2, 29, 0, 0, 0), None, id="leap-day"),
        pytest.param(
            "2026-12-31T23:59:59", datetime(2026, 12, 31, 23, 59, 59), None, id="last-second"
        ),
        pytest.param("2026-01-01T00:00:00", datetime(2026, 1, 1), None, id="midnight"),
    ],
)
def test_parse_timestamp_accepts(text: str, wall: datetime, offset: timedelta | None) -> None:
    stamp = parse_timestamp(text)
    assert stamp == Timestamp(wall=wall, offset=offset)
    assert stamp.wall.tzinfo is None
    assert stamp.wall.microsecond == 0


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("garbage", id="garbage"),
        pytest.param("2026-12-03", id="date-only"),
        pytest.param("15:43:06", id="time-only"),
        pytest.param("2026-12-03T15:43", id="missing-seconds"),
        pytest.param("2026-12-03T15:43Z", id="missing-seconds-with-zulu"),
        pytest.param("2026-02-30T10:00:00", id="feb-30"),
        pytest.param("2026-02-29T10:00:00", id="feb-29-not-leap-year"),
        pytest.param("2026-04-31T10:00:00", id="april-31"),
        pytest.param("2026-13-01T10:00:00", id="month-13"),
        pytest.param("2026-00-10T10:00:00", id="month-0"),
        pytest.param("2026-12-00T10:00:00", id="day-0"),
        pytest.param("0000-01-01T10:00:00", id="year-0"),
        pytest.param("2026-12-03T24:00:00", id="hour-24"),
        pytest.param("2026-12-03T15:60:00", id="minute-60"),
        pytest.param("2026-12-03T15:43:60", id="leap-second-60"),
        pytest.param("2026-12-03T15:43:06 junk", id="trailing-junk"),
        pytest.param("2026-12-03T15:43:06x", id="trailing-letter"),
        pytest.param("2026-12-03T15:43:06ZZ", id="double-zulu"),
        pytest.param("2026-12-03T15:43:06.", id="dot-without-fraction"),
        pytest.param("2026-12-03T15:43:06+05", id="offset-hours-only"),
        pytest.param("2026-12-03T15:43:06+24:00", id="offset-24h"),
        pytest.param("2026-12-03T15:43:06-24:00", id="offset-minus-24h"),
        pytest.param("2026-12-03T15:43:06+99:00", id="offset-99h"),
        pytest.param("2026-12-03T15:43:06+05:60", id="offset-minutes-60"),
        pytest.param("2026-12-03T15:43:06+05:30:00", id="offset-with-seconds"),
        pytest.param("2026/12/03T15:43:06", id="slashes"),
        pytest.param("26-12-03T15:43:06", id="two-digit-year"),
        pytest.param("2026-12-3T15:43:06", id="one-digit-day"),
        pytest.param("2026-12-03T5:43:06", id="one-digit-hour"),
        pytest.param("2026-12-03_15:43:06", id="underscore-separator"),
        pytest.param("2026-12-03TT15:43:06", id="double-T"),
        pytest.param("1764776586", id="epoch-seconds"),
        pytest.param("Thu, 03 Dec 2026 15:43:06 GMT", id="rfc-1123"),
        pytest.param("\u0662\u0660\u0662\u0666-12-03T15:43:06", id="arabic-indic-digits"),
        pytest.param("\uff12\uff10\uff12\uff16-12-03T15:43:06", id="fullwidth-digits"),
        pytest.param("2026-12-03T15:43:06.\u0661\u0662", id="arabic-indic-fraction"),
    ],
)
def test_parse_timestamp_rejects(text: str) -> None:
    assert parse_timestamp(text) is None


def test_fractions_of_one_second_parse_to_the_same_timestamp() -> None:
    sent = ["2026-12-03T15:43:06", "2026-12-03T15:43:06.001", "2026-12-03T15:43:06.999"]
    assert {parse_timestamp(text) for text in sent} == {Timestamp(WALL, None)}


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        pytest.param(
            "2026-12-03T15:43:06", "Asia/Kolkata", datetime(2026, 12, 3, 10, 13, 6), id="kolkata"
        ),
        pytest.param(
            "2026-12-03T15:43:06",
            "America/New_York",
            datetime(2026, 12, 3, 20, 43, 6),
            id="new-york-winter",
        ),
        pytest.param(
            "2026-07-03T15:43:06",
            "America/New_York",
            datetime(2026, 7, 3, 19, 43, 6),
            id="new-york-summer",
        ),
        pytest.param(
            "2026-12-03T00:30:00",
            "Asia/Kolkata",
            datetime(2026, 12, 2, 19, 0, 0),
            id="kolkata-crosses-to-previous-utc-day",
        ),
        pytest.param("2026-12-03T15:43:06", "UTC", datetime(2026, 12, 3, 15, 43, 6), id="utc"),
        pytest.param(
            "2026-12-03T15:43:06+05:30",
            "America/New_York",
            datetime(2026, 12, 3, 10, 13, 6),
            id="explicit-offset-wins-over-zone",
        ),
        pytest.param(
            "2026-12-03T15:43:06Z",
            "Asia/Kolkata",
            datetime(2026, 12, 3, 15, 43, 6),
            id="zulu-wins-over-zone",
        ),
        pytest.param(
            "2026-12-03T15:43:06-05:00",
            "Asia/Kolkata",
            datetime(2026, 12, 3, 20, 43, 6),
            id="negative-offset-wins-over-zone",
        ),
        pytest.param(
            "2026-12-31T23:30:00-01:00",
            "UTC",
            datetime(2027, 1, 1, 0, 30, 0),
            id="offset-crosses-year",
        ),
        # DST gap: Berlin jumps 02:00 CET -> 03:00 CEST; fold=0 keeps the offset before (+01:00).
        pytest.param(
            "2026-03-29T02:30:00",
            "Europe/Berlin",
            datetime(2026, 3, 29, 1, 30, 0),
            id="berlin-gap-uses-offset-before",
        ),
        pytest.param(
            "2026-03-29T01:59:59",
            "Europe/Berlin",
            datetime(2026, 3, 29, 0, 59, 59),
            id="berlin-just-before-gap",
        ),
        pytest.param(
            "2026-03-29T03:00:00",
            "Europe/Berlin",
            datetime(2026, 3, 29, 1, 0, 0),
            id="berlin-just-after-gap",
        ),
        pytest.param(
            "2026-03-08T02:30:00",
            "America/New_York",
            datetime(2026, 3, 8, 7, 30, 0),
            id="new-york-gap-uses-offset-before",
        ),
        # DST overlap: the earlier of the two instants.
        pytest.param(
            "2026-10-25T02:30:00",
            "Europe/Berlin",
            datetime(2026, 10, 25, 0, 30, 0),
            id="berlin-overlap-earlier-instant",
        ),
        pytest.param(
            "2026-11-01T01:30:00",
            "America/New_York",
            datetime(2026, 11, 1, 5, 30, 0),
            id="new-york-overlap-earlier-instant",
        ),
        pytest.param(
            "2026-11-01T02:30:00",
            "America/New_York",
            datetime(2026, 11, 1, 7, 30, 0),
            id="new-york-after-overlap",
        ),
    ],
)
def test_to_instant(text: str, zone: str, expected: datetime) -> None:
    stamp = parse_timestamp(text)
    assert stamp is not None
    instant = to_instant(stamp, load_zone(zone))
    assert instant == expected.replace(tzinfo=UTC)
    assert instant.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "zone", "local", "utc"),
    [
        pytest.param(
            "2026-12-03T15:43:06",
            "Asia/Kolkata",
            "2026-12-03T15:43:06+05:30",
            "2026-12-03T10:13:06Z",
            id="kolkata",
        ),
        pytest.param(
            "2026-12-03T15:43:06.750",
            "America/New_York",
            "2026-12-03T15:43:06-05:00",
            "2026-12-03T20:43:06Z",
            id="new-york-fraction-dropped",
        ),
        pytest.param(
            "2026-12-03T15:43:06+05:45",
            "UTC",
            "2026-12-03T15:43:06+05:45",
            "2026-12-03T09:58:06Z",
            id="explicit-offset-kept",
        ),
        pytest.param(
            "2026-03-29T02:30:00",
            "Europe/Berlin",
            "2026-03-29T02:30:00+01:00",
            "2026-03-29T01:30:00Z",
            id="berlin-gap",
        ),
        pytest.param(
            "2026-10-25T02:30:00",
            "Europe/Berlin",
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T00:30:00Z",
            id="berlin-overlap",
        ),
        pytest.param(
            "2026-12-03T15:43:06Z",
            "Asia/Kolkata",
            "2026-12-03T15:43:06+00:00",
            "2026-12-03T15:43:06Z",
            id="zulu",
        ),
    ],
)
def test_isoformats_round_trip(text: str, zone: str, local: str, utc: str) -> None:
    stamp = parse_timestamp(text)
    assert stamp is not None
    instant = to_instant(stamp, load_zone(zone))
    assert local_isoformat(stamp.wall, instant) == local
    assert utc_isoformat(instant) == utc
    # Both strings mean the same instant, and the local one still shows the wall time as sent.
    assert datetime.fromisoformat(local) == instant
    assert datetime.fromisoformat(utc.replace("Z", "+00:00")) == instant
    assert datetime.fromisoformat(local).replace(tzinfo=None) == stamp.wall
    assert local_offset(stamp.wall, instant).utcoffset(None) == (
        datetime.fromisoformat(local).utcoffset()
    )


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        pytest.param(
            datetime(2026, 12, 3, 10, 13, 6, tzinfo=UTC), "2026-12-03T10:13:06Z", id="utc"
        ),
        pytest.param(
            datetime(2026, 12, 3, 15, 43, 6, tzinfo=ZoneInfo("Asia/Kolkata")),
            "2026-12-03T10:13:06Z",
            id="aware-non-utc-converted",
        ),
    ],
)
def test_utc_isoformat(instant: datetime, expected: str) -> None:
    assert utc_isoformat(instant) == expected


@pytest.mark.parametrize(
    "name",
    ["UTC", "Asia/Kolkata", "America/New_York", "Europe/Berlin", "America/Argentina/Buenos_Aires"],
)
def test_load_zone_accepts_iana_names(name: str) -> None:
    zone = load_zone(name)
    assert zone.key == name


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param(" ", id="blank"),
        pytest.param("Mars/Olympus_Mons", id="unknown"),
        pytest.param("../etc", id="dotdot"),
        pytest.param("../../etc/passwd", id="dotdot-passwd"),
        pytest.param("Asia/../Asia/Kolkata", id="dotdot-inside"),
        pytest.param("/etc/localtime", id="absolute-path"),
        pytest.param("America/New York", id="space-inside"),
        pytest.param(" Asia/Kolkata", id="leading-space"),
        pytest.param("Asia/Kolkata ", id="trailing-space"),
        pytest.param("Asia/Kolkata\x00", id="nul"),
        pytest.param("asia/kolkata", id="wrong-case"),
        pytest.param("Europe/", id="trailing-slash"),
        pytest.param("Europe", id="zone-directory"),
        pytest.param("America", id="zone-directory-america"),
        pytest.param("zone.tab", id="not-a-tzif-file"),
        pytest.param("+05:30", id="offset-not-a-zone"),
    ],
)
def test_load_zone_rejects_with_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="Unknown time zone"):
        load_zone(name)
