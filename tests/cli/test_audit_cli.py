"""``punchlog audit list``: the changes made from the CLI, by the OS user who made them."""

from __future__ import annotations

import getpass

from tests.cli.conftest import Run, failed, ok, ok_json
from tests.support.world import World


def test_cli_changes_are_listed_newest_first_with_the_os_user(run: Run, world: World) -> None:
    ok(run("device", "add", world.slug, "--identifier", "gate-7", "--name", "Gate 7"))
    ok(run("device", "disable", world.slug, "gate-7"))
    entries = ok_json(run("audit", "list", world.slug, "--limit", "2", "--json"))["entries"]
    assert [(e["action"], e["target"]) for e in entries] == [
        ("device.disable", "gate-7"),
        ("device.add", "gate-7"),
    ]
    assert {e["actor"] for e in entries} == {f"cli:{getpass.getuser()}"}
    assert entries[1]["details"]["name"] == "Gate 7"
    human = ok(run("audit", "list", world.slug, "--limit", "2")).stdout
    assert "device.disable" in human
    assert "gate-7" in human


def test_audit_list_refuses_a_bad_limit_and_an_unknown_tenant(run: Run, world: World) -> None:
    failed(run("audit", "list", world.slug, "--limit", "0"), "limit must be between 1 and")
    failed(run("audit", "list", "no-such-tenant"), "no-such-tenant")
