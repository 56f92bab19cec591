"""Request limits: what one request may ask (:class:`Limits`) and a body-size middleware.

:class:`BodyLimit` refuses request bodies over a size (413, before they are parsed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from carbon_bayes.constants import N_DRAWS_MAX
from carbon_bayes.serve.responses import error_body


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the service."""

    max_body_bytes: int = 4_000_000
    max_rows: int = 10_000
    max_draws: int = N_DRAWS_MAX
    max_alternatives: int = 50


class BodyLimit:
    """Refuse bodies larger than ``max_bytes``, whether or not they declare a Content-Length.

    The body is read (at most ``max_bytes`` of it) before the application sees the request, then
    handed on whole: a streamed (chunked) body over the limit gets the same 413 as a declared one.
    """

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
        """Pass the request on with its body read, or answer 413 once the body is over the limit."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send, f"{int(declared):,} bytes")
        chunks: list[bytes] = []
        seen, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                return None
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.max_bytes:
                return await self._refuse(send, f"more than {self.max_bytes:,} bytes")
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: the disconnect, when it comes
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return await self.app(scope, replay, send)
