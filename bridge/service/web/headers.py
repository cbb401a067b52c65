"""Security headers on every answer of the service: one ASGI middleware, one policy for the pages.

The pages are server-rendered HTML with one local stylesheet and no script, so their policy allows the
bridge's own styles and images and nothing else; no page may be framed (the outbox page carries the
operator token field). FastAPI's `/docs` and `/redoc` load their viewer from a CDN and start it with an
inline script; they get a policy of their own that allows that script by its hash, never inline script
in general.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# What FastAPI's documentation pages load (fastapi/openapi/docs.py): the viewer from jsDelivr,
# ReDoc's fonts from Google, the favicon from fastapi.tiangolo.com, the OpenAPI document from here.
DOCS_SOURCES = {
    "script-src": "'self' https://cdn.jsdelivr.net",
    "style-src": "'self' https://cdn.jsdelivr.net https://fonts.googleapis.com",
    "font-src": "https://fonts.gstatic.com",
    "img-src": "'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net",
    "connect-src": "'self'",
    "worker-src": "blob:",
}
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
FIXED_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
)
HSTS = ("strict-transport-security", "max-age=31536000")
INLINE = re.compile(rb"<(script|style)(?:\s[^>]*)?>(.*?)</\1>", re.DOTALL | re.IGNORECASE)


def docs_policy(html: bytes) -> str:
    """The documentation pages' policy: their own inline scripts and styles allowed by hash only."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for match in INLINE.finditer(html):
        body = match.group(2)
        if match.group(1).lower() == b"script" and not body.strip():
            continue  # <script src=...> </script>: a script from its source, not inline
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        hashes[match.group(1).lower().decode()].append(f"'sha256-{digest}'")
    parts = ["default-src 'none'"]
    for directive, sources in DOCS_SOURCES.items():
        kind = directive.removesuffix("-src")
        parts.append(" ".join([directive, sources, *hashes.get(kind, [])]))
    parts += ["base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"]
    return "; ".join(parts)


def security_headers(scope: Scope, policy: str) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries; HSTS only when the request came over HTTPS."""
    headers = [*FIXED_HEADERS, ("content-security-policy", policy)]
    if scope.get("scheme") == "https":
        headers.append(HSTS)
    return [(name.encode(), value.encode()) for name, value in headers]


def _merged(
    existing: Iterable[tuple[bytes, bytes]], added: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    ours = {name for name, _ in added}
    kept = [(name, value) for name, value in existing if name.lower() not in ours]
    return kept + added


class SecurityHeaders:
    """Adds the security headers to every HTTP answer of the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("path") in DOCS_PATHS:
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _merged(message.get("headers", []), security_headers(scope, PAGE_POLICY))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The policy depends on the page's inline script, so the (small) page is held until it is whole.
        start: Message | None = None
        body: list[bytes] = []

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            page = b"".join(body)
            start["headers"] = _merged(start.get("headers", []), security_headers(scope, docs_policy(page)))
            await send(start)
            await send({"type": "http.response.body", "body": page, "more_body": False})

        await self.app(scope, receive, hold)
