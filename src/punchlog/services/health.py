"""Is the service ready to accept logs?"""

from __future__ import annotations

import logging

from punchlog.errors import StorageUnavailable
from punchlog.services.store import Store
from punchlog.storage.health import ping

log = logging.getLogger("punchlog.health")


def is_ready(store: Store) -> bool:
    """True when the database answers and holds the schema."""
    try:
        with store.read() as conn:
            ping(conn)
    except StorageUnavailable:
        log.warning("not ready: storage unavailable")
        return False
    return True
