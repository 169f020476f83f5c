"""API keys: format, checksum, hash, scopes."""

from __future__ import annotations

import hashlib
import random

import pytest

from punchlog.domain.keys import (
    BASE62,
    GRANTS,
    PREFIX,
    PUBLIC_ALPHABET,
    SCOPES,
    ParsedKey,
    digests_match,
    format_key,
    hash_key,
    parse_key,
)

PUBLIC_ID = "a1b2c3d4e5"
SECRET = "0123456789ABCDEFGHIJabcdefghijXY"
KEY = format_key(PUBLIC_ID, SECRET)

# Where each part of KEY sits: plk_ (0-3), public id (4-13), _ (14), secret (15-46), checksum.
PARTS = (
    [("prefix", i) for i in range(0, 4)]
    + [("public_id", i) for i in range(4, 14)]
    + [("separator", 14)]
    + [("secret", i) for i in range(15, 47)]
    + [("checksum", i) for i in range(47, 53)]
)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _random_parts(seed: int) -> tuple[str, str]:
    rng = random.Random(seed)
    public_id = "".join(rng.choice(PUBLIC_ALPHABET) for _ in range(10))
    secret = "".join(rng.choice(BASE62) for _ in range(32))
    return public_id, secret


def _substitute(text: str, index: int, alphabet: str) -> str:
    """``text`` with the character at ``index`` replaced by the next one in ``alphabet``."""
    current = text[index]
    replacement = alphabet[(alphabet.index(current) + 1) % len(alphabet)]
    return text[:index] + replacement + text[index + 1 :]


def test_key_shape() -> None:
    assert KEY.startswith("plk_")
    assert PREFIX == "plk_"
    assert len(KEY) == 4 + 10 + 1 + 32 + 6
    assert KEY[4:14] == PUBLIC_ID
    assert KEY[14] == "_"
    assert KEY[15:47] == SECRET
    assert all(c in BASE62 for c in KEY[47:])
    assert [part for part, _ in PARTS].count("checksum") == 6
    assert len(PARTS) == len(KEY)


def test_format_key_is_deterministic() -> None:
    assert format_key(PUBLIC_ID, SECRET) == KEY


@pytest.mark.parametrize("seed", range(12))
def test_format_parse_round_trip(seed: int) -> None:
    public_id, secret = _random_parts(seed)
    key = format_key(public_id, secret)
    assert parse_key(key) == ParsedKey(public_id=public_id, digest=_sha256(key))


@pytest.mark.parametrize(
    ("public_id", "secret"),
    [
        pytest.param("0000000000", "0" * 32, id="all-zeros"),
        pytest.param("zzzzzzzzzz", "z" * 32, id="all-z"),
        pytest.param("0123456789", "Z" * 32, id="upper-secret"),
    ],
)
def test_round_trip_alphabet_extremes(public_id: str, secret: str) -> None:
    key = format_key(public_id, secret)
    parsed = parse_key(key)
    assert parsed is not None
    assert parsed.public_id == public_id


def test_parsed_digest_is_hash_key_of_the_whole_key() -> None:
    parsed = parse_key(KEY)
    assert parsed is not None
    assert parsed.digest == hash_key(KEY) == _sha256(KEY)
    assert len(parsed.digest) == 64
    assert parsed.digest == parsed.digest.lower()


@pytest.mark.parametrize(
    ("text", "digest"),
    [
        pytest.param(
            "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", id="empty"
        ),
        pytest.param(
            "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", id="abc"
        ),
    ],
)
def test_hash_key_is_sha256_hex(text: str, digest: str) -> None:
    assert hash_key(text) == digest


def test_hash_key_differs_per_key() -> None:
    other = format_key(PUBLIC_ID, _substitute(SECRET, 0, BASE62))
    assert hash_key(other) != hash_key(KEY)


@pytest.mark.parametrize(("part", "index"), PARTS, ids=[f"{p}-{i:02d}" for p, i in PARTS])
def test_one_changed_character_anywhere_is_rejected(part: str, index: int) -> None:
    # Stay inside each part's own alphabet, so only the checksum can notice the change.
    alphabet = {
        "prefix": "plk_x",
        "public_id": PUBLIC_ALPHABET,
        "separator": "_-",
        "secret": BASE62,
        "checksum": BASE62,
    }[part]
    typo = _substitute(KEY, index, alphabet)
    assert typo != KEY
    assert len(typo) == len(KEY)
    assert parse_key(typo) is None


@pytest.mark.parametrize("index", range(15, 47), ids=lambda i: f"secret-{i:02d}")
def test_checksum_catches_a_secret_typo_that_is_otherwise_well_formed(index: int) -> None:
    typo = _substitute(KEY, index, BASE62)
    # The same body with its own checksum is a valid key: only the checksum rejects the typo.
    assert parse_key(format_key(typo[4:14], typo[15:47])) is not None
    assert parse_key(typo) is None


@pytest.mark.parametrize("index", range(15, 47), ids=lambda i: f"secret-{i:02d}")
def test_case_flip_in_the_secret_is_rejected(index: int) -> None:
    char = KEY[index]
    if not char.isalpha():
        char = "x" if char != "x" else "y"
        flipped = KEY[:index] + char + KEY[index + 1 :]
    else:
        flipped = KEY[:index] + char.swapcase() + KEY[index + 1 :]
    assert flipped != KEY
    assert parse_key(flipped) is None


def test_swapped_adjacent_characters_are_rejected() -> None:
    # "01" -> "10" at the start of the secret.
    swapped = KEY[:15] + KEY[16] + KEY[15] + KEY[17:]
    assert swapped != KEY
    assert parse_key(swapped) is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("plk_", id="prefix-only"),
        pytest.param(KEY[:-1], id="one-short"),
        pytest.param(KEY + "0", id="one-long"),
        pytest.param(KEY[:-6], id="no-checksum"),
        pytest.param(KEY[4:], id="no-prefix"),
        pytest.param("PLK_" + KEY[4:], id="upper-prefix"),
        pytest.param("pk_" + KEY[4:], id="short-prefix"),
        pytest.param(KEY[:14] + KEY[15:], id="no-separator"),
        pytest.param(KEY[:14] + "-" + KEY[15:], id="dash-separator"),
        pytest.param("plk_" + PUBLIC_ID.upper() + KEY[14:], id="upper-public-id"),
        pytest.param("plk_" + PUBLIC_ID[:9] + KEY[14:], id="public-id-9"),
        pytest.param("plk_" + PUBLIC_ID + "0" + KEY[14:], id="public-id-11"),
        pytest.param(KEY[:20] + "-" + KEY[21:], id="dash-in-secret"),
        pytest.param(KEY[:20] + "+" + KEY[21:], id="plus-in-secret"),
        pytest.param(KEY[:20] + "é" + KEY[21:], id="non-ascii-in-secret"),
        pytest.param(KEY[:20] + "\u0663" + KEY[21:], id="arabic-digit-in-secret"),
        pytest.param(KEY[:-1] + "=", id="padding-char"),
        pytest.param(" " + KEY, id="leading-space"),
        pytest.param(KEY + " ", id="trailing-space"),
        pytest.param(KEY + "\n", id="trailing-newline"),
        pytest.param(KEY + KEY, id="doubled"),
        pytest.param("Bearer " + KEY, id="bearer-prefix"),
        pytest.param("plk_" + PUBLIC_ID + "_" + SECRET, id="secret-without-checksum"),
    ],
)
def test_malformed_keys_rejected(text: str) -> None:
    assert parse_key(text) is None


@pytest.mark.parametrize(
    ("stored", "presented", "expected"),
    [
        pytest.param(hash_key(KEY), hash_key(KEY), True, id="same"),
        pytest.param(hash_key(KEY), hash_key(KEY + "x"), False, id="different"),
        pytest.param(
            hash_key(KEY),
            _substitute(hash_key(KEY), 63, "0123456789abcdef"),
            False,
            id="last-char-differs",
        ),
        pytest.param(hash_key(KEY), hash_key(KEY)[:32], False, id="prefix-of-digest"),
        pytest.param(hash_key(KEY), "", False, id="empty"),
    ],
)
def test_digests_match(stored: str, presented: str, expected: bool) -> None:
    assert digests_match(stored, presented) is expected


def test_parse_then_match_against_the_stored_hash() -> None:
    stored = hash_key(KEY)  # what issuing a key keeps
    parsed = parse_key(KEY)
    assert parsed is not None
    assert digests_match(stored, parsed.digest)
    other = parse_key(format_key(PUBLIC_ID, _substitute(SECRET, 5, BASE62)))
    assert other is not None
    assert other.public_id == parsed.public_id
    assert not digests_match(stored, other.digest)


@pytest.mark.parametrize(
    ("scope", "action", "allowed"),
    [
        pytest.param("ingest", "ingest", True, id="ingest-can-ingest"),
        pytest.param("ingest", "read", False, id="ingest-cannot-read"),
        pytest.param("ingest", "admin", False, id="ingest-cannot-admin"),
        pytest.param("read", "ingest", False, id="read-cannot-ingest"),
        pytest.param("read", "read", True, id="read-can-read"),
        pytest.param("read", "admin", False, id="read-cannot-admin"),
        pytest.param("admin", "ingest", False, id="admin-cannot-ingest"),
        pytest.param("admin", "read", True, id="admin-can-read"),
        pytest.param("admin", "admin", True, id="admin-can-admin"),
    ],
)
def test_grants(scope: str, action: str, allowed: bool) -> None:
    assert (action in GRANTS[scope]) is allowed


def test_grants_cover_exactly_the_scopes() -> None:
    assert set(GRANTS) == set(SCOPES) == {"ingest", "read", "admin"}
    assert GRANTS["ingest"] == frozenset({"ingest"})
    assert GRANTS["read"] == frozenset({"read"})
    assert GRANTS["admin"] == frozenset({"admin", "read"})


@pytest.mark.parametrize(
    ("public_id", "secret", "message"),
    [
        pytest.param(PUBLIC_ID[:9], SECRET, "public id", id="public-id-9"),
        pytest.param(PUBLIC_ID + "0", SECRET, "public id", id="public-id-11"),
        pytest.param("", SECRET, "public id", id="public-id-empty"),
        pytest.param(PUBLIC_ID.upper(), SECRET, "public id", id="public-id-upper"),
        pytest.param("a1b2c3d4e_", SECRET, "public id", id="public-id-underscore"),
        pytest.param("a1b2c3d4e-", SECRET, "public id", id="public-id-dash"),
        pytest.param("a1b2c3d4eé", SECRET, "public id", id="public-id-non-ascii"),
        pytest.param(PUBLIC_ID, SECRET[:31], "secret", id="secret-31"),
        pytest.param(PUBLIC_ID, SECRET + "0", "secret", id="secret-33"),
        pytest.param(PUBLIC_ID, "", "secret", id="secret-empty"),
        pytest.param(PUBLIC_ID, SECRET[:31] + "-", "secret", id="secret-dash"),
        pytest.param(PUBLIC_ID, SECRET[:31] + "_", "secret", id="secret-underscore"),
        pytest.param(PUBLIC_ID, SECRET[:31] + "/", "secret", id="secret-slash"),
        pytest.param(PUBLIC_ID, SECRET[:31] + "é", "secret", id="secret-non-ascii"),
        pytest.param(PUBLIC_ID, SECRET[:31] + "\u0663", "secret", id="secret-arabic-digit"),
    ],
)
def test_format_key_rejects_bad_parts(public_id: str, secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        format_key(public_id, secret)
