"""A real PostgreSQL server for the test suite.

``find_or_start_postgres()`` looks for a server in this order and returns the first that answers:

1. ``PUNCHLOG_TEST_POSTGRES_URL`` (a SQLAlchemy URL, used as is; if it does not answer, that is
   an error: we never fall back from an explicit choice);
2. ``postgres@127.0.0.1:5432/test`` (override the host:port with ``PUNCHLOG_TEST_POSTGRES_PROBE``),
   probed with a 2 s connect timeout;
3. a throwaway server started from the local binaries (``/usr/lib/postgresql/*/bin``, or
   ``initdb``/``pg_ctl`` on PATH), run as the ``postgres`` OS user when we are root;
4. the ``pgserver`` wheel, if it is importable.

If none works it raises ``PostgresUnavailableError``. Callers must not turn that into a skip when
``in_ci()`` is true.

Throwaway server lifetime (safe under pytest-xdist): every process that gets the throwaway server
holds a *lease* on it, recorded in a state file next to a lock file in a fixed directory under
``tempfile.gettempdir()`` keyed by uid and repository path. Under the lock (``fcntl.flock``), the
first caller starts the server and the others reuse it; ``PostgresServer.stop()`` drops the
caller's lease and the caller that drops the last one stops the server and deletes its files.
Leases of dead processes (crashed workers) are pruned at every acquire/release, so a server left
behind by a crash is reused by the next session and stopped at its end.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ENV_URL = "PUNCHLOG_TEST_POSTGRES_URL"
ENV_PROBE = "PUNCHLOG_TEST_POSTGRES_PROBE"
DEFAULT_PROBE = "127.0.0.1:5432"
PROBE_USER = "postgres"
PROBE_DATABASE = "test"
CONNECT_TIMEOUT_S = 2
READY_TIMEOUT_S = 30.0
SUPERUSER = "postgres"

REPO_ROOT = Path(__file__).resolve().parents[2]

__all__ = [
    "ENV_PROBE",
    "ENV_URL",
    "PostgresServer",
    "PostgresUnavailableError",
    "create_test_database",
    "drop_test_database",
    "find_or_start_postgres",
    "in_ci",
]


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server could be found or started."""


def in_ci() -> bool:
    """True when running in CI (``CI=true``): PostgreSQL tests must then fail, never skip."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


class PostgresServer:
    """A PostgreSQL server to test against.

    ``admin_url`` is a SQLAlchemy URL (``postgresql+psycopg://...``) of a database on which
    ``CREATE DATABASE`` can be run. ``kind`` says where it came from: ``env``, ``probe``,
    ``throwaway`` or ``pgserver``. ``stop()`` is idempotent and a no-op for a server we did not
    start.
    """

    def __init__(
        self, admin_url: str, kind: str, stopper: Callable[[], None] | None = None
    ) -> None:
        self.admin_url = admin_url
        self.kind = kind
        self._stopper = stopper

    def stop(self) -> None:
        stopper, self._stopper = self._stopper, None
        if stopper is not None:
            stopper()

    def __repr__(self) -> str:
        return f"PostgresServer(kind={self.kind!r}, admin_url={self.admin_url!r})"


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def find_or_start_postgres() -> PostgresServer:
    """Return a reachable PostgreSQL server; see the module docstring for the lookup order."""
    env_url = os.environ.get(ENV_URL, "").strip()
    if env_url:
        error = _connect_error(env_url)
        if error is not None:
            raise PostgresUnavailableError(
                _failure_message([f"{ENV_URL}={_safe(env_url)} does not answer: {error}"])
            )
        return PostgresServer(env_url, "env")

    attempts: list[str] = []
    probe_url = _probe_url()
    error = _connect_error(probe_url)
    if error is None:
        return PostgresServer(probe_url, "probe")
    attempts.append(f"probe {_safe(probe_url)}: {error}")

    return _acquire_shared_throwaway(_default_state_dir(), attempts)


def create_test_database(admin_url: str, name: str) -> str:
    """(Re)create database ``name`` on the server of ``admin_url``; return its SQLAlchemy URL."""
    with _connect(admin_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_test_database(admin_url: str, name: str) -> None:
    """Drop database ``name`` (if it exists), disconnecting its sessions."""
    with _connect(admin_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --------------------------------------------------------------------------------------------
# Connections
# --------------------------------------------------------------------------------------------


def _conninfo(url: str) -> str:
    """SQLAlchemy URL -> libpq URI."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _connect(url: str, timeout: int = CONNECT_TIMEOUT_S) -> psycopg.Connection[Any]:
    return psycopg.connect(_conninfo(url), connect_timeout=timeout, autocommit=True)


def _connect_error(url: str) -> str | None:
    """None if ``SELECT 1`` works on ``url``, else why not."""
    try:
        with _connect(url) as conn:
            conn.execute("SELECT 1").fetchone()
    except (psycopg.Error, OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {str(exc).strip() or 'no detail'}"
    return None


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


def _probe_url() -> str:
    raw = os.environ.get(ENV_PROBE, "").strip() or DEFAULT_PROBE
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"{ENV_PROBE} must be host:port, got {raw!r}")
    return f"postgresql+psycopg://{PROBE_USER}@{host}:{port}/{PROBE_DATABASE}"


def _wait_until_ready(url: str, deadline: float) -> str | None:
    """Connect in a loop until ``deadline``; None when ready, else the last error."""
    while True:
        error = _connect_error(url)
        if error is None or time.monotonic() >= deadline:
            return error
        time.sleep(0.1)


def _failure_message(attempts: list[str]) -> str:
    lines = ["No PostgreSQL server for the tests. Tried:", *(f"  - {a}" for a in attempts)]
    lines.append(
        f"Fix: start the machine's server (pg_ctlcluster --skip-systemctl-redirect "
        f"$(ls /etc/postgresql) main start), or set {ENV_URL} to a SQLAlchemy URL of a "
        f"database on which CREATE DATABASE can be run. See DEVELOPERS.md."
    )
    if in_ci():
        lines.append("CI=true: PostgreSQL tests are never skipped in CI, so this is a failure.")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# A throwaway cluster from the local binaries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cluster:
    """A running throwaway cluster; everything lives under ``base_dir``."""

    base_dir: Path
    bindir: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def to_json(self) -> dict[str, Any]:
        return {"base_dir": str(self.base_dir), "bindir": str(self.bindir), "port": self.port}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Cluster:
        return cls(Path(data["base_dir"]), Path(data["bindir"]), int(data["port"]))


def _find_bindir() -> Path | None:
    """The newest local PostgreSQL bin directory holding both initdb and pg_ctl."""

    def version_key(path: Path) -> tuple[int, str]:
        name = path.parent.name
        return (int(name) if name.isdigit() else -1, name)

    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version_key, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server tools as the ``postgres`` OS user."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def _run(argv: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run(
        _as_server_user(argv),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _server_user_ids() -> tuple[int, int] | None:
    """(uid, gid) of the ``postgres`` OS user when we are root (None: we run it ourselves)."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailableError(
            "running as root and there is no 'postgres' OS user to run initdb as"
        ) from None
    return user.pw_uid, user.pw_gid


def _make_server_dirs(parent: Path) -> Path:
    """A fresh directory (with a ``sock`` subdirectory) owned by the user running the server."""
    ids = _server_user_ids()
    base = Path(tempfile.mkdtemp(prefix="pg-", dir=parent))
    (base / "sock").mkdir(mode=0o700)
    if ids is not None:
        for path in (base, base / "sock"):
            os.chown(path, *ids)
    return base


def _describe(proc: subprocess.CompletedProcess[str]) -> str:
    out = (proc.stdout + proc.stderr).strip()
    return f"exit {proc.returncode}: {out[-1500:]}"


def _log_tail(cluster: _Cluster) -> str:
    try:
        return cluster.log_file.read_text(errors="replace")[-1500:]
    except OSError:
        return "(no log)"


def _start_cluster(parent: Path | None = None) -> _Cluster:
    """Start a throwaway cluster in a fresh directory under ``parent`` (default: the temp dir).

    The directory's path must be traversable by the ``postgres`` OS user when we are root.
    Raises ``PostgresUnavailableError`` (after cleaning up) if it cannot be started.
    """
    bindir = _find_bindir()
    if bindir is None:
        raise PostgresUnavailableError(
            "no local PostgreSQL binaries (initdb and pg_ctl) in /usr/lib/postgresql/*/bin "
            "or on PATH"
        )
    parent = Path(tempfile.gettempdir()) if parent is None else parent
    base = _make_server_dirs(parent)
    cluster = _Cluster(base, bindir, 0)
    try:
        init = _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(cluster.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-locale",
                "--encoding=UTF8",
                "--no-sync",
            ],
            cwd=base,
            timeout=120,
        )
        if init.returncode != 0:
            raise PostgresUnavailableError(f"initdb failed ({_describe(init)})")
        socket_dir = str(cluster.socket_dir).replace("'", "''")
        with (cluster.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# punchlog throwaway test server: speed over durability\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{socket_dir}'\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "max_connections = 200\n"
                "shared_buffers = 64MB\n"
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        errors: list[str] = []
        for _ in range(3):  # a fresh port each time, in case another process grabbed ours
            cluster = _Cluster(base, bindir, _free_port())
            remaining = max(1, int(deadline - time.monotonic()))
            start = _run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(cluster.data_dir),
                    "-l",
                    str(cluster.log_file),
                    "-o",
                    f"-p {cluster.port}",
                    "-w",
                    "-t",
                    str(remaining),
                    "start",
                ],
                cwd=base,
                timeout=remaining + 10,
            )
            if start.returncode == 0:
                error = _wait_until_ready(cluster.admin_url, deadline)
                if error is None:
                    return cluster
                errors.append(f"port {cluster.port}: started but does not answer: {error}")
                _stop_server_process(cluster)
            else:
                errors.append(f"port {cluster.port}: pg_ctl start {_describe(start)}")
            if time.monotonic() >= deadline:
                break
        raise PostgresUnavailableError(
            "could not start a throwaway server from "
            f"{bindir}: {'; '.join(errors)}\nserver log:\n{_log_tail(cluster)}"
        )
    except BaseException:
        with contextlib.suppress(Exception):
            _stop_server_process(cluster)
        shutil.rmtree(base, ignore_errors=True)
        raise


def _stop_server_process(cluster: _Cluster) -> None:
    if (cluster.data_dir / "postmaster.pid").exists():
        _run(
            [
                str(cluster.bindir / "pg_ctl"),
                "-D",
                str(cluster.data_dir),
                "-m",
                "immediate",
                "-w",
                "-t",
                "30",
                "stop",
            ],
            cwd=cluster.base_dir,
            timeout=40,
        )


def _stop_cluster(cluster: _Cluster) -> None:
    """Stop a cluster started by ``_start_cluster`` and delete its files."""
    try:
        _stop_server_process(cluster)
    finally:
        shutil.rmtree(cluster.base_dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The shared throwaway server: lock file + state file + leases
# --------------------------------------------------------------------------------------------


def _default_state_dir() -> Path:
    key = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"punchlog-pg-{os.getuid()}-{key}"


def _ensure_state_dir(state_dir: Path) -> None:
    state_dir.mkdir(mode=0o755, exist_ok=True)
    info = state_dir.stat()
    if info.st_uid != os.getuid():
        raise PostgresUnavailableError(f"{state_dir} exists but belongs to uid {info.st_uid}")
    # The postgres OS user must be able to reach its cluster directory inside.
    state_dir.chmod(0o755)


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    _ensure_state_dir(state_dir)
    with (state_dir / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released by the kernel if we die
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((state_dir / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return data


def _write_state(state_dir: Path, state: dict[str, Any] | None) -> None:
    path = state_dir / "state.json"
    if state is None:
        path.unlink(missing_ok=True)
        return
    tmp = state_dir / f"state.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, path)


def _log_event(state_dir: Path, message: str) -> None:
    path = state_dir / "events.log"
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > 64_000:  # keep it small: start afresh
            path.unlink()
    with path.open("a") as log:
        log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} pid={os.getpid()} {message}\n")


def _process_start(pid: int) -> str | None:
    """An identity for a live process (its start time), or None if it is not running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        stat = ""
    if stat:
        return stat.rsplit(")", 1)[1].split()[19]  # field 22: starttime
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "?"


def _lease_alive(lease: dict[str, Any]) -> bool:
    start = _process_start(int(lease["pid"]))
    return start is not None and (start == lease["start"] or "?" in (start, lease["start"]))


def _acquire_shared_throwaway(state_dir: Path, attempts: list[str] | None = None) -> PostgresServer:
    """Lease the throwaway server of ``state_dir``, starting it if none runs."""
    attempts = list(attempts or [])
    token = uuid.uuid4().hex
    lease = {"pid": os.getpid(), "start": _process_start(os.getpid()) or "?", "token": token}
    with _locked(state_dir):
        state = _read_state(state_dir)
        leases = [le for le in (state or {}).get("leases", []) if _lease_alive(le)]
        cluster = _Cluster.from_json(state["cluster"]) if state else None
        if cluster is not None and _connect_error(cluster.admin_url) is not None:
            _log_event(state_dir, f"stale server on port {cluster.port}: cleaning up")
            _stop_cluster(cluster)
            cluster = None
        if cluster is None:
            try:
                cluster = _start_cluster(state_dir)
            except PostgresUnavailableError as exc:
                attempts.append(f"throwaway server: {exc}")
                _write_state(state_dir, None)
                return _pgserver_or_fail(state_dir, attempts)
            _log_event(state_dir, f"started server on port {cluster.port} in {cluster.base_dir}")
        else:
            _log_event(state_dir, f"reusing server on port {cluster.port}")
        _write_state(state_dir, {"cluster": cluster.to_json(), "leases": [*leases, lease]})

    server = PostgresServer(
        cluster.admin_url, "throwaway", lambda: _release_shared_throwaway(state_dir, token)
    )
    atexit.register(server.stop)  # a safety net; stop() is idempotent
    return server


def _release_shared_throwaway(state_dir: Path, token: str) -> None:
    with _locked(state_dir):
        state = _read_state(state_dir)
        if state is None:
            return
        leases = [le for le in state.get("leases", []) if le["token"] != token and _lease_alive(le)]
        cluster = _Cluster.from_json(state["cluster"])
        if leases:
            _write_state(state_dir, {**state, "leases": leases})
            return
        _stop_cluster(cluster)
        _write_state(state_dir, None)
        _log_event(state_dir, f"last lease released: stopped server on port {cluster.port}")


def _pgserver_or_fail(state_dir: Path, attempts: list[str]) -> PostgresServer:
    """Last resort: the ``pgserver`` wheel (it shares one server between processes itself)."""
    try:
        import pgserver  # type: ignore[import-not-found]
    except ImportError:
        attempts.append("pgserver: not importable (pip install pgserver)")
        raise PostgresUnavailableError(_failure_message(attempts)) from None
    try:
        srv = pgserver.get_server(state_dir / "pgserver-data", cleanup_mode="stop")
        uri = str(srv.get_uri("postgres"))
    except Exception as exc:
        attempts.append(f"pgserver: {type(exc).__name__}: {exc}")
        raise PostgresUnavailableError(_failure_message(attempts)) from exc
    admin_url = "postgresql+psycopg://" + uri.split("://", 1)[1]
    error = _connect_error(admin_url)
    if error is not None:
        srv.cleanup()
        attempts.append(f"pgserver: started but {_safe(admin_url)} does not answer: {error}")
        raise PostgresUnavailableError(_failure_message(attempts))
    server = PostgresServer(admin_url, "pgserver", srv.cleanup)
    atexit.register(server.stop)
    return server
