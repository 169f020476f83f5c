"""A small client for any Keka-compatible ``POST /v1/logs`` endpoint (stdlib, httpx, orjson)."""

from punchlog.client.push import PushError, PushSummary, Rejection, push_file, read_logs
from punchlog.client.sdk import PostResult, PunchlogClient, logs_endpoint

__all__ = [
    "PostResult",
    "PunchlogClient",
    "PushError",
    "PushSummary",
    "Rejection",
    "logs_endpoint",
    "push_file",
    "read_logs",
]
