"""``POST /v1/logs``: the Keka-compatible front door."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import cast

import msgspec
import orjson
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from punchlog import metrics
from punchlog.api.context import AppContext
from punchlog.errors import RequestRejected
from punchlog.services import idempotency
from punchlog.services.ingest import (
    Sender,
    answer_body,
    check_batch_size,
    ingest_batch,
    ingest_grouped,
)
from punchlog.services.keys import authenticate, cached_principal
from punchlog.services.verdicts import USUAL_DECODER, UsualBatch

router = APIRouter()

_LOG_SCHEMA = {
    "type": "object",
    "required": ["DeviceIdentifier", "EmployeeAttendanceNumber", "Timestamp", "Status"],
    "properties": {
        "DeviceIdentifier": {"type": "string", "example": "4f5b878d-7fe4-4b34-8eed-651b3d20c4c2"},
        "EmployeeAttendanceNumber": {"type": ["string", "integer"], "example": "E1001"},
        "Timestamp": {"type": "string", "example": "2026-12-03T09:02:11"},
        "Status": {"type": ["integer", "string"], "enum": [0, 1, "0", "1"]},
    },
}
_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": _LOG_SCHEMA, "minItems": 1, "maxItems": 1000}
            }
        },
    },
    "parameters": [
        {"name": "X-API-Key", "in": "header", "required": True, "schema": {"type": "string"}}
    ],
}


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request headers this endpoint reads, by lower-case name (the first of each)."""
    wanted: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _WANTED and name not in wanted:
            wanted[name] = value
    return wanted


_WANTED = frozenset({b"x-api-key", b"content-type", b"content-length", b"idempotency-key"})


def _check_content_type(headers: dict[bytes, bytes]) -> None:
    media = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    if media != b"application/json":
        raise RequestRejected("Content-Type must be application/json", 415)


async def read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    """The body, reading no further than ``limit`` bytes (413 beyond)."""
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestRejected(f"Request body larger than {limit} bytes", 413)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestRejected(f"Request body larger than {limit} bytes", 413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> object:
    """orjson, except where it would lose digits: it reads integers beyond 64 bits as floats,
    so a body with a float attendance number is read again by the standard library, which
    keeps big integers exact (an integer number becomes its decimal string, rule 7)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected(
            f"Request body is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno}, byte {exc.pos})"
        ) from exc
    if isinstance(parsed, list) and any(
        isinstance(item, dict) and isinstance(item.get("EmployeeAttendanceNumber"), float)
        for item in parsed
    ):
        try:
            return json.loads(body, parse_constant=_no_constants)
        except RecursionError as exc:  # orjson allows deeper nesting than the stdlib parser
            raise RequestRejected("Request body is nested too deeply") from exc
    return parsed


def decode_logs(body: bytes) -> Sequence[object]:
    """The usual body straight into typed logs for the one-pass verdict (services.verdicts);
    any other body, or one that shape does not fit, through :func:`parse_json`."""
    try:
        logs = USUAL_DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError):  # ValidationError included: not usual
        return cast(Sequence[object], parse_json(body))
    return UsualBatch(logs, body, parse_json)


@router.post(
    "/v1/logs",
    summary="Push attendance logs (Keka-compatible)",
    openapi_extra=_OPENAPI,
    tags=["ingestion"],
)
async def post_logs(request: Request) -> Response:
    """The declared route (OpenAPI). Requests are answered by :func:`ingest_logs` straight
    from ``PunchlogAPI.__call__``, without the router; this answers the same if reached."""
    body, headers = await ingest_logs(request.scope, request.receive)
    return Response(body, media_type="application/json", headers=headers)


async def ingest_logs(scope: Scope, receive: Receive) -> tuple[bytes, dict[str, str]]:
    """``POST /v1/logs`` on the raw ASGI request: the JSON body of the 200 answer and its
    rate-limit header fields, or a :class:`~punchlog.errors.PunchlogError` for the error
    envelope."""
    ctx: AppContext = scope["app"].state.punchlog
    headers = _headers(scope)
    raw_key = headers.get(b"x-api-key")
    presented = raw_key.decode("latin-1") if raw_key is not None else None
    # The key from this process's cache when it is there (no I/O); the ingest transaction
    # confirms it against the tenant's registry version (services.keys.confirm_key).
    principal = cached_principal(ctx.store, presented, now=ctx.clock())
    cached = principal is not None
    if principal is None:
        principal = await run_in_threadpool(authenticate, ctx.store, presented, now=ctx.clock())
    principal.require("ingest")
    if ctx.limiter.needs_database(principal):  # a round trip: off the event loop
        quota = await run_in_threadpool(ctx.limiter.hit, principal)
    else:
        quota = ctx.limiter.hit(principal)
    limit_fields = quota.headers() if quota is not None else {}
    raw_idempotency = headers.get(b"idempotency-key")
    try:
        _check_content_type(headers)
        idempotency_key = None
        if raw_idempotency is not None:
            idempotency_key = idempotency.check_key(raw_idempotency.decode("latin-1"))
        body = await read_body(receive, headers, ctx.settings.max_body_bytes)
        items = check_batch_size(decode_logs(body), ctx.limits)
    except RequestRejected:
        if cached:  # a revoked key is told so first, whatever else is wrong with the request
            await run_in_threadpool(authenticate, ctx.store, presented, now=ctx.clock())
        raise
    sender = Sender(
        tenant_id=principal.tenant_id,
        key_id=principal.key_id,
        request_id=str(scope.get("state", {}).get("request_id", "")),
        policy=principal.policy,
        principal=principal,
    )
    now = ctx.clock()
    claim = None
    if idempotency_key is not None:
        began = await run_in_threadpool(
            partial(
                idempotency.begin,
                ctx.store,
                key_id=principal.key_id,
                idempotency_key=idempotency_key,
                body=body,
                now=now,
            )
        )
        if isinstance(began, idempotency.Replay):
            return began.body, {**limit_fields, "Idempotent-Replayed": "true"}
        claim = began
    try:
        if ctx.store.groups_commits:  # wait for the group's commit without holding a thread
            result = await ingest_grouped(
                ctx.store, sender, items, now=now, limits=ctx.limits, claim=claim
            )
        else:
            result = await run_in_threadpool(
                partial(
                    ingest_batch, ctx.store, sender, items, now=now, limits=ctx.limits, claim=claim
                )
            )
    except BaseException:
        if claim is not None:  # free the key: the client's retry runs afresh
            await run_in_threadpool(idempotency.release, ctx.store, claim)
        raise
    wire = result.to_wire()
    metrics.count_logs(
        {
            "new": wire["logsAccepted"] - wire["logsDuplicate"] - wire["logsUnmatched"],
            "duplicate": wire["logsDuplicate"],
            "unmatched": wire["logsUnmatched"],
        },
        Counter(r.reason for r in result.rejections),
    )
    return answer_body(wire), limit_fields
