"""The ``punchlog`` entry point: init, serve, demo, and the command groups."""

from __future__ import annotations

import copy
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from typing import Annotated, Any

import typer
import uvicorn
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup
from uvicorn.config import LOGGING_CONFIG

from punchlog import metrics
from punchlog.cli import attendance, devices, employees, held, keys, push, shifts, tenants
from punchlog.cli import audit as audit_cli
from punchlog.cli.demo import curl_example, seed
from punchlog.cli.output import (
    JsonOpt,
    console,
    emit_json,
    err_console,
    handle_errors,
    open_store,
)
from punchlog.settings import Settings


class OneLineErrors(TyperGroup):
    """Usage errors (missing argument, unknown option, bad value) as one ``error:`` line on
    stderr and exit status 2, like every other failure, instead of a multi-line panel."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        def run(standalone: bool) -> Any:
            return super(OneLineErrors, self).main(
                args=args,
                prog_name=prog_name,
                complete_var=complete_var,
                standalone_mode=standalone,
                windows_expand_args=windows_expand_args,
                **extra,
            )

        if not standalone_mode:
            return run(False)
        try:
            code = run(False)
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except ClickException as exc:
            context = getattr(exc, "ctx", None)
            hint = f" (see '{context.command_path} --help')" if context is not None else ""
            err_console.print(
                f"error: {exc.format_message()}{hint}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(exc.exit_code)
        except typer.Abort:
            err_console.print("error: aborted", markup=False)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    help="punchlog: attendance log ingestion service (Keka-compatible POST /v1/logs).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(tenants.app, name="tenant")
app.add_typer(keys.app, name="key")
app.add_typer(devices.app, name="device")
app.add_typer(employees.app, name="employee")
app.add_typer(held.unmatched_app, name="unmatched")
app.add_typer(held.rejections_app, name="rejections")
app.add_typer(shifts.app, name="shift")
app.add_typer(shifts.holiday_app, name="holiday")
app.add_typer(attendance.app, name="attendance")
app.add_typer(attendance.correction_app, name="correction")
app.add_typer(audit_cli.app, name="audit")
app.command("push")(push.push)

HostOpt = Annotated[str | None, typer.Option(help="Bind address [default: PUNCHLOG_HOST].")]
PortOpt = Annotated[int | None, typer.Option(help="Port [default: PUNCHLOG_PORT].")]
WorkersOpt = Annotated[int | None, typer.Option(help="Worker processes [default: 1].")]


@app.command("init")
@handle_errors
def init(json_out: JsonOpt = False) -> None:
    """Create or upgrade the schema (idempotent)."""
    store = open_store()
    url = store.engine.url.render_as_string(hide_password=True)
    if json_out:
        emit_json({"database": url, "schema": "up to date"})
    else:
        console.print(f"schema up to date in {url}", markup=False)


def log_config(level: str, form: str = "json") -> dict[str, Any]:
    """uvicorn's logging, with punchlog's own loggers on the same handler; every record as
    one JSON line (punchlog.logformat) unless ``form`` is ``text``."""
    config = copy.deepcopy(LOGGING_CONFIG)
    if form == "json":
        for name in ("default", "access"):
            config["formatters"][name] = {"()": "punchlog.logformat.JsonFormatter"}
    config["loggers"]["punchlog"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def _serve(settings: Settings, host: str | None, port: int | None, workers: int | None) -> None:
    count = workers or settings.workers
    own_metrics_dir = None
    if count > 1 and not os.environ.get(metrics.MULTIPROC_DIR):
        # Workers are started afresh and read this before their first metric (metrics.py).
        own_metrics_dir = tempfile.mkdtemp(prefix="punchlog-metrics-")
        os.environ[metrics.MULTIPROC_DIR] = own_metrics_dir
    try:
        _run_uvicorn(settings, host, port, count)
    finally:
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)


def _run_uvicorn(settings: Settings, host: str | None, port: int | None, workers: int) -> None:
    uvicorn.run(
        "punchlog.api.main:app_from_env",
        factory=True,
        log_config=log_config(settings.log_level, settings.log_format),
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        timeout_graceful_shutdown=10,
        server_header=False,
        proxy_headers=False,  # nothing reads the client address; one middleware less per request
    )


@app.command("serve")
@handle_errors
def serve(host: HostOpt = None, port: PortOpt = None, workers: WorkersOpt = None) -> None:
    """Serve the API (GET /readyz answers 200 once logs can be stored)."""
    settings = Settings()
    open_store().dispose()  # bring the schema up to date once, before workers start
    _serve(settings, host, port, workers)


@app.command("demo")
@handle_errors
def demo(host: HostOpt = None, port: PortOpt = None) -> None:
    """init + a demo tenant, devices, employees and fresh keys; prints a curl, then serves."""
    settings = Settings()
    store = open_store()
    created = seed(store)
    store.dispose()
    base = f"http://{host or settings.host}:{port or settings.port}"
    url = store.engine.url.render_as_string(hide_password=True)
    # Plain print, not Rich: keys and the curl must never be wrapped or styled (copy-paste).
    print(f"\npunchlog demo — database {url}, tenant 'demo' (Asia/Kolkata)")
    print(f"ingest key: {created['ingest_key']}")
    print(f"admin key:  {created['admin_key']}")
    print("\nPush a punch (in another terminal):\n")
    print(curl_example(base, created["ingest_key"]))
    print(f"\nAPI docs: {base}/docs\n", flush=True)
    os.environ.setdefault("PUNCHLOG_DATABASE_URL", settings.database_url)
    _serve(settings, host, port, None)


def main() -> None:
    # Outside `serve`, errors reach the operator as one line (cli/output.py), never as a
    # logged traceback: keep punchlog's loggers off Python's last-resort stderr handler.
    logging.getLogger("punchlog").addHandler(logging.NullHandler())
    app()
