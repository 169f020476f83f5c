"""What the app shares between requests, built once by ``create_app`` (not at import)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request

from punchlog.services import audit
from punchlog.services.ingest import Limits
from punchlog.services.keys import Principal, authenticate
from punchlog.services.ratelimits import RateLimiter
from punchlog.services.store import Store
from punchlog.settings import Settings


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    store: Store
    limiter: RateLimiter
    limits: Limits
    clock: Callable[[], datetime]


def context_of(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.punchlog
    return ctx


def principal_for(request: Request, grant: str) -> Principal:
    """Authenticate the ``X-API-Key``, check its scope, then take a rate-limit token."""
    ctx = context_of(request)
    principal = authenticate(ctx.store, request.headers.get("x-api-key"), now=ctx.clock())
    principal.require(grant)
    ctx.limiter.hit(principal)
    audit.act_as(f"key:{principal.key_public_id}")  # who any change of this request is by
    return principal
