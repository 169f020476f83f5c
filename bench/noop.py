"""A server that does nothing: it reads the request and answers a fixed 200. wrk against it
shows how many requests per second the load generator can make on this machine, so the
table can show wrk is not what limits the figures.

    uvicorn bench.noop:app
"""

from __future__ import annotations

from typing import Any

BODY = b'{"data":{"logsReceived":1,"logsAccepted":1},"succeeded":true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body", False):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
