"""Turning command-line (and CSV) text into values, with the operator's error messages."""

from __future__ import annotations

from datetime import date

from punchlog.errors import InvalidInput


def to_date(value: str, what: str) -> date:
    """``YYYY-MM-DD``; ``what`` names the option or column in the error."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"Invalid {what} date {value!r}: use YYYY-MM-DD") from exc


def parse_date(value: str | None, what: str) -> date | None:
    """An optional date: ``None`` or blank is no date."""
    if value is None or value.strip() == "":
        return None
    return to_date(value, what)
