"""Output for humans (Rich) or scripts (``--json``: exactly one JSON object on stdout), and the
one place CLI errors become a one-line message on stderr and a non-zero exit status."""

from __future__ import annotations

import functools
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any, ParamSpec, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table
from typer._click.globals import get_current_context

from punchlog.errors import PunchlogError
from punchlog.services import audit
from punchlog.services.store import Store
from punchlog.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the exception tree into ``error: message`` on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except PunchlogError as exc:
            raise fail(str(exc)) from None
        except ValueError as exc:
            raise fail(str(exc)) from None

    return wrapper


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return f"uid-{os.getuid()}"


def open_store() -> Store:
    """The store named by ``PUNCHLOG_DATABASE_URL``, its schema brought up to date; its
    connections are closed when the command ends. The command's changes are audited as made
    by ``cli:<OS user>``."""
    audit.act_as(f"cli:{_os_user()}")
    store = Store.from_settings(Settings())
    context = get_current_context(silent=True)
    if context is not None:
        context.call_on_close(store.dispose)
    try:
        store.migrate()
    except BaseException:
        store.dispose()
        raise
    return store


def emit_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")


def emit_object(payload: dict[str, Any], *, as_json: bool, title: str | None = None) -> None:
    if as_json:
        emit_json(payload)
        return
    if title:
        console.print(f"[bold]{title}[/bold]")
    for key, value in payload.items():
        console.print(f"  {key}: {_cell(value)}", markup=False, highlight=False)


def emit_rows(
    name: str,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    as_json: bool,
    extra: dict[str, Any] | None = None,
) -> None:
    if as_json:
        emit_json({name: list(rows), **(extra or {})})
        return
    if not rows:
        console.print(f"no {name}")
        return
    table = Table(*columns, show_lines=False)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
