"""PostgreSQL advisory-lock namespaces (the first key of each two-key lock; the second is the
tenant id). One list, so no two uses ever share a namespace."""

from __future__ import annotations

from typing import Final

# Registering employees vs holding logs for unknown numbers (storage.employees.lock_registry).
REGISTRY_LOCK: Final = 0x504C0001
# One recompute per tenant at a time (services.recompute.lock_tenant).
RECOMPUTE_LOCK: Final = 0x504C0002
# Writers of punches vs readers of "id > cursor" (storage.punches.lock_arrivals).
ARRIVALS_LOCK: Final = 0x504C0003
