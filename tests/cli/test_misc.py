"""What every ``punchlog`` command promises, on SQLite and PostgreSQL: ``--help`` explains it,
``--json`` prints exactly one JSON object on stdout (wherever it is placed after the command
name), failures are one ``error:`` line on stderr, and a command leaves no connection open."""

from __future__ import annotations

import gc
import os
import re
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from sqlalchemy import make_url
from typer.testing import CliRunner

from punchlog.cli.main import app
from punchlog.services.store import Store
from tests.cli.conftest import Run, failed, ok, ok_json, push_logs
from tests.support.world import DEVICE, DEVICE_OFF, World, log

# ------------------------------------------------------------------------------------------
# --help
# ------------------------------------------------------------------------------------------

# Every command of spec/cli.md in this scope, and words of its purpose its help must
# carry.
COMMANDS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("init",): ("schema",),
    ("serve",): ("serve", "readyz"),
    ("demo",): ("demo", "serves"),
    ("tenant", "create"): ("create a tenant",),
    ("tenant", "list"): ("list tenants",),
    ("tenant", "set"): ("settings",),
    ("key", "issue"): ("issue a key", "once"),
    ("key", "list"): ("keys",),
    ("key", "revoke"): ("revoke",),
    ("device", "add"): ("register a device", "identifier"),
    ("device", "list"): ("devices",),
    ("device", "disable"): ("disable",),
    ("employee", "add"): ("register an employee",),
    ("employee", "import"): ("csv",),
    ("employee", "deactivate"): ("left",),
    ("employee", "list"): ("employees",),
    ("unmatched", "list"): ("held logs",),
    ("rejections", "list"): ("rejected logs",),
    ("rejections", "replay"): ("again",),
    ("push",): ("push logs",),
}
GROUPS: dict[str, tuple[str, ...]] = {
    "tenant": ("create", "list", "set"),
    "key": ("issue", "list", "revoke"),
    "device": ("add", "list", "disable"),
    "employee": ("add", "import", "deactivate", "list"),
    "unmatched": ("list",),
    "rejections": ("list", "replay"),
}
ARGUMENTS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("tenant", "create"): ("slug",),
    ("key", "issue"): ("slug",),
    ("key", "revoke"): ("key_id",),
    ("device", "disable"): ("slug", "identifier"),
    ("employee", "add"): ("slug", "number"),
    ("employee", "import"): ("slug", "file"),
    ("push",): ("file",),
}


def _text(output: str) -> str:
    """Help as plain words: box drawing gone, whitespace collapsed, lower case."""
    return " ".join(re.sub(r"[│╭╮╰╯─┃━┏┓┗┛]", " ", output).split()).lower()


def test_root_help_lists_every_command(run: Run) -> None:
    for flag in ("--help", "-h"):
        result = ok(run(flag))
        text = _text(result.stdout)
        assert "attendance" in text
        for name in ("init", "serve", "demo", "push", *GROUPS):
            assert re.search(rf"\b{name}\b", text), name


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_group_help_lists_its_commands(run: Run, group: str) -> None:
    text = _text(ok(run(group, "--help")).stdout)
    for command in GROUPS[group]:
        assert re.search(rf"\b{command}\b", text), f"{group} {command}"
    bare = run(group)  # no sub-command: the help, not a crash
    assert "Traceback" not in bare.stdout + bare.stderr
    assert GROUPS[group][0] in _text(bare.stdout + bare.stderr)


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_command_help_explains_it(run: Run, command: tuple[str, ...]) -> None:
    result = ok(run(*command, "--help"))
    text = _text(result.stdout)
    assert "usage" in text
    for words in COMMANDS[command]:
        assert words in text, f"{words!r} not in help of {' '.join(command)}"
    for argument in ARGUMENTS.get(command, ()):
        assert argument in text, f"argument {argument!r} not in help of {' '.join(command)}"
    if command not in {("serve",), ("demo",)}:
        assert "--json" in text, f"no --json in help of {' '.join(command)}"


# ------------------------------------------------------------------------------------------
# --json: one JSON object on stdout, wherever it is after the command name
# ------------------------------------------------------------------------------------------

# (command path, arguments); "{key_id}" and "{csv}" are filled in per test.
JSON_COMMANDS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("init",), ()),
    (("tenant", "create"), ("beta", "--timezone", "Europe/Berlin")),
    (("tenant", "list"), ()),
    (("tenant", "set"), ("acme", "--backdate-days", "10")),
    (("key", "issue"), ("acme", "--scope", "read")),
    (("key", "list"), ("acme",)),
    (("key", "revoke"), ("{key_id}",)),
    (("device", "add"), ("acme", "--name", "Side door")),
    (("device", "list"), ("acme",)),
    (("device", "disable"), ("acme", DEVICE)),
    (("employee", "add"), ("acme", "E50", "--name", "Fifty")),
    (("employee", "import"), ("acme", "{csv}")),
    (("employee", "deactivate"), ("acme", "E1")),
    (("employee", "list"), ("acme",)),
    (("unmatched", "list"), ("acme",)),
    (("rejections", "list"), ("acme",)),
    (("rejections", "replay"), ("acme",)),
]


@pytest.mark.parametrize("where", ["last", "first"])
@pytest.mark.parametrize(
    ("command", "arguments"), JSON_COMMANDS, ids=[" ".join(c) for c, _ in JSON_COMMANDS]
)
def test_json_is_one_object_on_stdout(
    run: Run,
    store: Store,
    world: World,
    tmp_path: Path,
    command: tuple[str, ...],
    arguments: tuple[str, ...],
    where: str,
) -> None:
    # something held and something rejected, so the listings are not empty
    outcomes = push_logs(
        store, world.ingest_key, [log("N9", minutes_ago=15), log("E2", device=DEVICE_OFF)]
    ).outcomes
    assert outcomes == ["unmatched", "device_disabled"]
    csv = tmp_path / "staff.csv"
    csv.write_text("number,name\nE60,Sixty\nN9,Nine\n")
    filled = tuple(
        a.replace("{key_id}", world.ingest_key_id).replace("{csv}", str(csv)) for a in arguments
    )
    args = (*command, *filled, "--json") if where == "last" else (*command, "--json", *filled)
    assert ok_json(run(*args))


def test_json_failure_prints_nothing_on_stdout(run: Run, world: World) -> None:
    result = run("employee", "add", "acme", "E1", "--json")
    failed(result, "E1")
    assert result.stdout == ""


# ------------------------------------------------------------------------------------------
# Failures
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("tenant", "create", "x", "--timezone", "Mars/Base"), ("Mars/Base",)),
        (("tenant", "create", "x", "--unknown-employees", "maybe"), ("hold",)),
        (("employee", "add", "nope", "E1"), ("nope",)),
        (("key", "issue", "acme", "--scope", "root"), ("root",)),
        (("key", "revoke", "0000000000"), ("0000000000",)),
        (("device", "add", "acme", "--identifier", DEVICE), ("exists",)),
        (("employee", "add", "acme", "E1"), ("exists",)),
        (("tenant", "create", "acme"), ("exists",)),
    ],
    ids=[
        "bad-zone",
        "bad-unknown-employees",
        "unknown-tenant",
        "unknown-scope",
        "unknown-key",
        "duplicate-device",
        "duplicate-employee",
        "duplicate-tenant",
    ],
)
def test_failures_are_one_error_line(
    run: Run, world: World, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    result = run(*args)
    failed(result, *fragments)
    assert result.exit_code == 1


@pytest.mark.parametrize(
    "args",
    [
        ("tenant", "create"),
        ("tenant", "create", "acme", "--backdate-days", "many"),
        ("device", "list", "acme", "--no-such-option"),
    ],
    ids=["missing-argument", "not-a-number", "unknown-option"],
)
def test_usage_errors_are_one_error_line(run: Run, args: tuple[str, ...]) -> None:
    """spec/cli.md: "non-zero with a one-line message on stderr on failure"."""
    failed(run(*args))


LONG = "x" * 250


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("tenant", "create", "longname", "--name", LONG), "name"),
        (("device", "add", "acme", "--name", LONG), "name"),
        (("device", "add", "acme", "--location", LONG), "location"),
        (("key", "issue", "acme", "--label", LONG), "label"),
        (("employee", "add", "acme", "E70", "--name", LONG), "name"),
    ],
    ids=["tenant-name", "device-name", "device-location", "key-label", "employee-name"],
)
def test_overlong_text_is_kept_or_refused_as_bad_input(
    run: Run, world: World, args: tuple[str, ...], field: str
) -> None:
    """Either stored intact, or refused as the operator's mistake (naming the field): never a
    'storage unavailable, retry later' for input that can never be stored."""
    result = run(*args, "--json")
    if result.exit_code == 0:
        assert LONG in ok_json(result).values()
        return
    line = failed(result, field)
    assert "storage unavailable" not in line.lower()


def test_push_failure_is_one_error_line(run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "absent.jsonl"
    failed(run("push", str(missing), "--url", "http://127.0.0.1:9", "--key", "k"), "absent.jsonl")
    logs = tmp_path / "logs.csv"
    logs.write_text(
        "DeviceIdentifier,EmployeeAttendanceNumber,Timestamp,Status\n"
        f"{DEVICE},E1,2024-01-01T09:00:00,0\n"
    )
    result = run(
        "push", str(logs), "--url", "http://127.0.0.1:9", "--key", "k", "--max-attempts", "1"
    )
    failed(result)


# ------------------------------------------------------------------------------------------
# Resources
# ------------------------------------------------------------------------------------------


def test_commands_release_their_database_connections(db_url: str, world: World) -> None:
    """Run unshimmed (``run`` disposes what a command opens): a command must close its own
    connections, not leave them to the garbage collector (or process exit)."""
    runner = CliRunner()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for args in (["tenant", "list", "--json"], ["device", "add", "acme", "--json"]):
            result = runner.invoke(app, args, env={"PUNCHLOG_DATABASE_URL": db_url})
            assert result.exit_code == 0, result.stderr
        del result
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []


def _unreachable(db_url: str, tmp_path: Path) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'punchlog.db'}"
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return make_url(db_url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def test_unreachable_database_is_one_error_line_in_a_real_process(
    db_url: str, tmp_path: Path
) -> None:
    """As an operator runs it (a process of its own, no pytest log capture): one line."""
    env = {**os.environ, "PUNCHLOG_DATABASE_URL": _unreachable(db_url, tmp_path)}
    script = "from punchlog.cli.main import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", script, "tenant", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr, proc.stderr[:2000]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, lines[:5]
    assert lines[0].startswith("error:")
