"""A request's body read within a bound, for the two bare ASGI apps of the HTTP process: the webhook
intake and the forwarder to the pages process."""

from __future__ import annotations

from starlette.types import Receive


class BodyTooLargeError(Exception):
    """A request body over the bound."""


class ClientGoneError(Exception):
    """The sender hung up before its body was whole."""


async def read_body(receive: Receive, limit: int, *, declared: str | None = None) -> bytes:
    """The request body, refusing (before reading it all) one over `limit` bytes; `declared` is its
    Content-Length, when the sender gave one."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGoneError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
