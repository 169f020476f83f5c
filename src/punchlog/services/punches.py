"""Reading stored punches: the held (unmatched) view."""

from __future__ import annotations

from typing import Any

from punchlog.services.store import Store
from punchlog.services.tenants import require_tenant
from punchlog.storage import punches as punch_rows


def list_unmatched(store: Store, slug: str) -> list[dict[str, Any]]:
    """Held logs grouped by attendance number (numbers not registered yet)."""
    with store.read() as conn:
        tenant = require_tenant(conn, slug)
        return [
            {
                "employeeNumber": r["employee_number"],
                "count": int(r["count"]),
                "first": r["first_at"].isoformat(),
                "last": r["last_at"].isoformat(),
            }
            for r in punch_rows.list_unmatched(conn, tenant_id=tenant.id)
        ]
