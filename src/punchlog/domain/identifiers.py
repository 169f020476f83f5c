"""Normalising the identifiers devices send: device identifiers and attendance numbers."""

from __future__ import annotations

import re
from functools import lru_cache

_GUID_BODY = (
    r"([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})"
)
_GUID = re.compile(rf"{_GUID_BODY}|\{{{_GUID_BODY}\}}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1 controls

MAX_DEVICE_IDENTIFIER = 128
MAX_EMPLOYEE_NUMBER = 64


def normalize_device_identifier(value: str) -> str | None:
    """Trimmed; a GUID (optionally in braces) becomes lower case so GUIDs compare
    case-insensitively. ``None`` when empty, too long or holding control characters."""
    if len(value) > _CACHED_UP_TO:  # never kept: the cache bounds entries, not their size
        return _normalize_device_identifier(value)
    return _cached_device_identifier(value)


# Identifiers up to this long are remembered (devices send the same few again and again).
_CACHED_UP_TO = 2 * MAX_DEVICE_IDENTIFIER


def _normalize_device_identifier(value: str) -> str | None:
    text = value.strip()
    match = _GUID.fullmatch(text)
    if match is not None:
        return "-".join(g for g in match.groups() if g is not None).lower()
    if not text or len(text) > MAX_DEVICE_IDENTIFIER or _CONTROL.search(text):
        return None
    return text


_cached_device_identifier = lru_cache(maxsize=4096)(_normalize_device_identifier)


def normalize_employee_number(value: object) -> str | None:
    """A string (trimmed) or an integer (its decimal string) of 1-64 characters, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) >= 10**MAX_EMPLOYEE_NUMBER:
            return None
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        return None
    if not text or len(text) > MAX_EMPLOYEE_NUMBER or _CONTROL.search(text):
        return None
    return text
