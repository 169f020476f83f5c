"""Docs that tests hold to: every setting and every CLI command appears in the README."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main

from punchlog.cli.main import app
from punchlog.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            names.extend(f"{name} {sub}" for sub in command.commands)
        else:
            names.append(name)
    return sorted(names)


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme(field: str) -> None:
    assert f"PUNCHLOG_{field.upper()}" in README


@pytest.mark.parametrize("command", _commands())
def test_every_cli_command_is_in_the_readme(command: str) -> None:
    assert f"punchlog {command}" in README


def test_the_readme_shows_the_two_commands_and_a_curl() -> None:
    for needle in ("make run", "make test", "curl ", "X-API-Key", "/v1/logs"):
        assert needle in README


def test_ci_runs_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
