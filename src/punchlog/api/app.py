"""The one app factory: ``create_app(settings)``. Nothing is built at import time."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

import punchlog
from punchlog import metrics
from punchlog.api import admin, attendance, logs
from punchlog.api.context import AppContext
from punchlog.api.errors import error_response, install_error_handlers
from punchlog.api.requestids import RequestIdMiddleware, assign_request_id, with_request_id
from punchlog.api.responses import failure, json_response
from punchlog.services.health import is_ready
from punchlog.services.ingest import Limits
from punchlog.services.ratelimits import RateLimiter
from punchlog.services.recompute import RecomputeWorker
from punchlog.services.store import Store, utcnow
from punchlog.services.tenants import list_tenants
from punchlog.settings import Settings


class PunchlogAPI(FastAPI):
    """FastAPI, with one shortcut: ``POST /v1/logs``, the hot path, goes straight to its
    handler. Routing, dependency solving and the middleware stack cost more per request than
    the handler's own work does; the route stays declared (OpenAPI) and answers the same."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/logs" and scope["method"] == "POST":
            scope["app"] = self
            await self._ingest(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _ingest(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = assign_request_id(scope)
        try:
            body, extra = await logs.ingest_logs(scope, receive)
        except ClientDisconnect:
            return  # nobody to answer, nothing stored
        except Exception as exc:
            response = await error_response(Request(scope, receive), exc)
            await response(scope, receive, with_request_id(send, request_id, "POST"))
            return
        metrics.REQUESTS.labels("POST", "200").inc()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id),
                    *((k.lower().encode(), v.encode()) for k, v in extra.items()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """Build the ASGI app. ``store`` and ``clock`` are injectable for tests."""
    own_store = store is None
    the_store = store or Store.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if settings.recompute_interval_seconds > 0:
            worker = RecomputeWorker(
                the_store,
                lambda: [t.id for t in list_tenants(the_store)],
                settings.recompute_interval_seconds,
            )
            worker.start()
        yield
        if worker is not None:
            worker.stop()
        if own_store:
            the_store.dispose()

    app = PunchlogAPI(
        title="punchlog",
        version=punchlog.__version__,
        description="Attendance log ingestion (Keka-compatible `POST /v1/logs`) and admin API.",
        lifespan=lifespan,
    )
    app.state.punchlog = AppContext(
        settings=settings,
        store=the_store,
        limiter=RateLimiter(the_store, settings.rate_limit_per_second, settings.rate_limit_burst),
        limits=Limits(
            max_logs=settings.max_logs_per_request,
            rejected_retention_days=settings.rejected_retention_days,
            rejected_max_per_tenant=settings.rejected_max_per_tenant,
        ),
        clock=clock,
    )
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(logs.router)
    app.include_router(admin.router)
    app.include_router(attendance.router)

    @app.get("/healthz", tags=["operations"], summary="Liveness: 200 while the process serves")
    async def healthz() -> Response:
        # No database call: a database outage must not make an orchestrator restart a
        # healthy process (that is /readyz's to report).
        return json_response({"status": "ok", "succeeded": True})

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics (Authorization: Bearer PUNCHLOG_METRICS_TOKEN)",
    )
    async def prometheus_metrics(request: Request) -> Response:
        # Counts span every tenant: only the operator's scraper may read them.
        token = settings.metrics_token
        if token is None:
            return failure(request, 404, ["Metrics are off: set PUNCHLOG_METRICS_TOKEN"])
        presented = request.headers.get("authorization", "")
        if not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
            return failure(
                request, 401, ["Metrics need Authorization: Bearer <PUNCHLOG_METRICS_TOKEN>"]
            )
        body, media_type = metrics.exposition()
        return Response(body, media_type=media_type)

    @app.get("/readyz", tags=["operations"], summary="Readiness: 200 when logs can be stored")
    async def readyz(request: Request) -> Response:
        if not await run_in_threadpool(is_ready, the_store):
            return failure(request, 503, ["Storage unavailable"], {"Retry-After": "1"})
        return json_response({"status": "ready", "succeeded": True})

    return app
