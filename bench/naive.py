"""The naive peer of the single-log benchmark: FastAPI, orjson, one SQLite transaction per
request (WAL, synchronous=FULL) into a table whose unique index is the natural key.

    PUNCHLOG_NAIVE_DB=path uvicorn --factory bench.naive:app
"""

from __future__ import annotations

import os
import sqlite3
import threading

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

SCHEMA = """
CREATE TABLE IF NOT EXISTS punches (
    id INTEGER PRIMARY KEY, device TEXT NOT NULL, number TEXT NOT NULL,
    stamp TEXT NOT NULL, status INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS natural_key ON punches (stamp, number, device, status);
"""
INSERT = (
    "INSERT INTO punches (device, number, stamp, status) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def open_database(path: str) -> sqlite3.Connection:
    """A connection per thread; the busy timeout is set before anything else, so threads
    opening at once wait for each other instead of failing."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def rows_of(body: bytes) -> list[tuple[str, str, str, int]]:
    return [
        (
            i["DeviceIdentifier"],
            str(i["EmployeeAttendanceNumber"]),
            i["Timestamp"],
            int(i["Status"]),
        )
        for i in orjson.loads(body)
    ]


def app() -> FastAPI:
    path = os.environ["PUNCHLOG_NAIVE_DB"]
    open_database(path).executescript(SCHEMA)  # once, before the first request
    local = threading.local()
    api = FastAPI()

    def store(rows: list[tuple[str, str, str, int]]) -> None:
        if not hasattr(local, "conn"):
            local.conn = open_database(path)
        conn: sqlite3.Connection = local.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")

    @api.post("/v1/logs")
    async def logs(request: Request) -> Response:
        rows = rows_of(await request.body())
        await run_in_threadpool(store, rows)
        body = {"data": {"logsReceived": len(rows), "logsAccepted": len(rows)}, "succeeded": True}
        return Response(orjson.dumps(body), media_type="application/json")

    return api
