"""API keys: the format, the checksum, the hash. Randomness comes in from the caller.

A key reads ``plk_<public id>_<secret><checksum>``:

* ``plk_`` lets secret scanners recognise a leaked punchlog key;
* the public id (10 characters) is stored in clear and used to find the key's row;
* the secret (32 base62 characters, ~190 bits) is never stored, only the SHA-256 of the key;
* the checksum (6 base62 characters of CRC32) catches typos before any database lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import zlib
from dataclasses import dataclass

PREFIX = "plk_"
PUBLIC_ID_LENGTH = 10
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PUBLIC_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
SCOPES = ("ingest", "read", "admin")
# What each scope may do. An ingest key can push and nothing else: a leaked one exposes no data.
GRANTS: dict[str, frozenset[str]] = {
    "ingest": frozenset({"ingest"}),
    "read": frozenset({"read"}),
    "admin": frozenset({"admin", "read"}),
}

_KEY = re.compile(
    rf"{PREFIX}([0-9a-z]{{{PUBLIC_ID_LENGTH}}})_([0-9A-Za-z]{{{SECRET_LENGTH + CHECKSUM_LENGTH}}})"
)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    public_id: str
    digest: str  # hex SHA-256 of the whole key


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        chars.append(BASE62[rem])
    return "".join(reversed(chars))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def hash_key(key: str) -> str:
    """SHA-256 (hex): right for long random keys; a slow KDF buys nothing here."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def format_key(public_id: str, secret: str) -> str:
    """Assemble a key from its random parts (``public_id`` in [0-9a-z], ``secret`` in base62)."""
    if len(public_id) != PUBLIC_ID_LENGTH or any(c not in PUBLIC_ALPHABET for c in public_id):
        raise ValueError("public id must be 10 characters of [0-9a-z]")
    if len(secret) != SECRET_LENGTH or any(c not in BASE62 for c in secret):
        raise ValueError("secret must be 32 base62 characters")
    body = f"{PREFIX}{public_id}_{secret}"
    return body + _checksum(body)


def parse_key(text: str) -> ParsedKey | None:
    """The public id and hash of a well-formed key; ``None`` for anything malformed."""
    match = _KEY.fullmatch(text)
    if match is None:
        return None
    body, checksum = text[:-CHECKSUM_LENGTH], text[-CHECKSUM_LENGTH:]
    if not hmac.compare_digest(_checksum(body), checksum):
        return None
    return ParsedKey(public_id=match.group(1), digest=hash_key(text))


def digests_match(stored: str, presented: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(stored.encode("ascii"), presented.encode("ascii"))
