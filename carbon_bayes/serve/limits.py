"""An ASGI middleware that refuses request bodies over a size (413, before they are parsed)."""

from __future__ import annotations

import json

from carbon_bayes.serve.responses import error_body


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse bodies larger than ``max_bytes``, whether or not they declare a Content-Length."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send, size: str) -> None:
        body = json.dumps(error_body("body", size, f"send at most {self.max_bytes:,} bytes per request; split the "
                                                   "batch")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        """Pass the request on, or answer 413 once its body is over the limit."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send, f"{int(declared):,} bytes")
        seen = 0
        started = False

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, f"more than {self.max_bytes:,} bytes")
