"""Normalising device identifiers and employee attendance numbers."""

from __future__ import annotations

import pytest

from punchlog.domain.identifiers import (
    MAX_DEVICE_IDENTIFIER,
    MAX_EMPLOYEE_NUMBER,
    normalize_device_identifier,
    normalize_employee_number,
)

GUID = "4f5b878d-7fe4-4b34-8eed-651b3d20c4c2"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(GUID, GUID, id="guid-lower"),
        pytest.param(GUID.upper(), GUID, id="guid-upper"),
        pytest.param("4F5b878D-7fE4-4B34-8eEd-651B3d20C4c2", GUID, id="guid-mixed-case"),
        pytest.param("{" + GUID + "}", GUID, id="guid-braces"),
        pytest.param("{" + GUID.upper() + "}", GUID, id="guid-upper-braces"),
        pytest.param("  " + GUID.upper() + "\t", GUID, id="guid-trimmed"),
        pytest.param(" {" + GUID + "}\n", GUID, id="guid-braces-trimmed"),
        pytest.param("gate-1", "gate-1", id="custom"),
        pytest.param("Gate-1", "Gate-1", id="custom-case-kept"),
        pytest.param("  Front Door #2  ", "Front Door #2", id="custom-trimmed-inner-space-kept"),
        pytest.param("Lobby/ZK-K40 (east)", "Lobby/ZK-K40 (east)", id="custom-punctuation"),
        pytest.param("Pförtner-Tür", "Pförtner-Tür", id="custom-unicode"),
        pytest.param("x", "x", id="custom-one-char"),
        pytest.param("d" * MAX_DEVICE_IDENTIFIER, "d" * MAX_DEVICE_IDENTIFIER, id="custom-128"),
        pytest.param(
            " " + "d" * MAX_DEVICE_IDENTIFIER + " ",
            "d" * MAX_DEVICE_IDENTIFIER,
            id="custom-128-pad",
        ),
        pytest.param(GUID.replace("-", ""), GUID.replace("-", ""), id="guid-without-dashes-kept"),
        pytest.param(
            GUID.upper().replace("-", ""),
            GUID.upper().replace("-", ""),
            id="guid-without-dashes-not-lowered",
        ),
        pytest.param(GUID + "0", GUID + "0", id="guid-one-char-too-long-kept"),
        pytest.param(
            "{" + GUID.upper(), "{" + GUID.upper(), id="unbalanced-open-brace-is-not-a-guid"
        ),
        pytest.param(
            GUID.upper() + "}", GUID.upper() + "}", id="unbalanced-close-brace-is-not-a-guid"
        ),
    ],
)
def test_device_identifier_normalised(value: str, expected: str) -> None:
    assert normalize_device_identifier(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("\t\n", id="whitespace-only"),
        pytest.param("d" * (MAX_DEVICE_IDENTIFIER + 1), id="129-chars"),
        pytest.param("d" * 1000, id="1000-chars"),
        pytest.param("gate\x001", id="nul"),
        pytest.param("gate\x1b[31m1", id="escape"),
        pytest.param("gate\n1", id="inner-newline"),
        pytest.param("gate\t1", id="inner-tab"),
        pytest.param("gate\x7f1", id="del"),
        pytest.param("gate\x9b31m1", id="c1-csi"),
        pytest.param("gate\x851", id="c1-nel"),
    ],
)
def test_device_identifier_rejected(value: str) -> None:
    assert normalize_device_identifier(value) is None


def test_guid_spellings_compare_equal() -> None:
    spellings = [GUID, GUID.upper(), "{" + GUID + "}", " {" + GUID.upper() + "} "]
    assert {normalize_device_identifier(s) for s in spellings} == {GUID}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("E042", "E042", id="string"),
        pytest.param("  E042\t", "E042", id="string-trimmed"),
        pytest.param("00042", "00042", id="leading-zeros-kept"),
        pytest.param("emp 42", "emp 42", id="inner-space-kept"),
        pytest.param("e042", "e042", id="case-kept"),
        pytest.param("7", "7", id="one-char"),
        pytest.param(42, "42", id="int"),
        pytest.param(0, "0", id="int-zero"),
        pytest.param(10**18, "1000000000000000000", id="int-large"),
        pytest.param(10**63, "1" + "0" * 63, id="int-64-digits"),
        pytest.param("n" * MAX_EMPLOYEE_NUMBER, "n" * MAX_EMPLOYEE_NUMBER, id="string-64"),
        pytest.param(
            "  " + "n" * MAX_EMPLOYEE_NUMBER + "  ",
            "n" * MAX_EMPLOYEE_NUMBER,
            id="string-64-padded",
        ),
        pytest.param("Müller-7", "Müller-7", id="unicode"),
    ],
)
def test_employee_number_normalised(value: object, expected: str) -> None:
    assert normalize_employee_number(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="none"),
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param(42.0, id="float"),
        pytest.param(4.2, id="float-fraction"),
        pytest.param(["42"], id="list"),
        pytest.param({"id": "42"}, id="dict"),
        pytest.param(b"42", id="bytes"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("n" * (MAX_EMPLOYEE_NUMBER + 1), id="string-65"),
        pytest.param(10**64, id="int-65-digits"),
        pytest.param(10**5000, id="int-5001-digits"),
        pytest.param("E\x0042", id="nul"),
        pytest.param("E\x1b42", id="escape"),
        pytest.param("E\n42", id="inner-newline"),
        pytest.param("E\x7f42", id="del"),
        pytest.param("E\x9b42", id="c1-csi"),
    ],
)
def test_employee_number_rejected(value: object) -> None:
    assert normalize_employee_number(value) is None


def test_int_and_string_numbers_are_the_same_number() -> None:
    assert normalize_employee_number(42) == normalize_employee_number(" 42 ") == "42"
