"""Who may read the pages and the read API, and who may write from them: the operator token.

The token comes as `Authorization: Bearer <token>` or, for a browser, as a cookie the /login form
sets. The cookie holds its expiry and a digest of it keyed by the token and `service.session_secret`,
never the token: a copied cookie does not reveal it, ends at its expiry (checked here, not only by the
browser), and a new token or a new session secret ends every sign-in at once. Every comparison takes
constant time. /docs and /metrics ask for the token too when configured to.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import SecretStr

from bridge.service.web.pages.layout import page_html
from bridge.service.web.pages.options import DEFAULT_SESSION, PageOptions

COOKIE_NAME = "bridge_operator"
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
# Reachable without the token: the sign-in itself and the stylesheet it is drawn with.
OPEN_PATHS = frozenset({LOGIN_PATH, LOGOUT_PATH})
OPEN_PREFIXES = ("/assets/",)
MAX_FORM_BYTES = 16 * 1024
COOKIE_LABEL = b"release-bridge pages cookie v2"
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
METRICS_PATH = "/metrics"
HOW_TO_SET = (
    "Set service.operator_token in the bridge's configuration file "
    "(or the BRIDGE_SERVICE__OPERATOR_TOKEN environment variable) and restart the bridge."
)


class Verdict(StrEnum):
    """What a request's credentials are worth."""

    ALLOWED = "allowed"  # the operator token, or its cookie
    MISSING = "missing"  # no token given
    WRONG = "wrong"  # a token was given, but not the operator token
    UNSET = "unset"  # no operator token is configured: nobody can be let in


def same(given: str, expected: str) -> bool:
    """Compare two secrets in constant time (as bytes: compare_digest takes only ASCII str)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer` header, if there is one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def form_fields(request: Request) -> dict[str, str]:
    """An HTML form's fields (application/x-www-form-urlencoded), the first value of each; at most 16 KiB."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "form over 16 KiB")
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


Form = Annotated[dict[str, str], Depends(form_fields)]


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default`: a sign-in never sends anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


@dataclass(frozen=True)
class Gate:
    """The operator token's checks, for the pages and the read API (if protected) and for writes."""

    token: SecretStr | None = None
    protect_pages: bool = False
    session_secret: SecretStr | None = None
    session: timedelta = DEFAULT_SESSION
    protect_docs: bool = False
    protect_metrics: bool = False

    @classmethod
    def from_options(cls, options: PageOptions | None) -> Gate:
        if options is None:
            return cls()
        return cls(
            token=options.operator_token,
            protect_pages=options.protect_pages,
            session_secret=options.session_secret,
            session=options.session,
            protect_docs=options.protect_docs,
            protect_metrics=options.protect_metrics,
        )

    @property
    def configured(self) -> bool:
        return self.token is not None and bool(self.token.get_secret_value())

    def check(self, given: str | None) -> Verdict:
        """The operator token, given by a person or a header."""
        if not self.configured:
            return Verdict.UNSET
        if not given:
            return Verdict.MISSING
        assert self.token is not None
        return Verdict.ALLOWED if same(given, self.token.get_secret_value()) else Verdict.WRONG

    def _signature(self, expires: int) -> str:
        assert self.token is not None
        secret = self.session_secret.get_secret_value() if self.session_secret else ""
        key = hmac.new(self.token.get_secret_value().encode(), secret.encode(), hashlib.sha256).digest()
        return hmac.new(key, COOKIE_LABEL + b"|%d" % expires, hashlib.sha256).hexdigest()

    def cookie_value(self, now: datetime | None = None) -> str:
        """What the sign-in cookie holds: its expiry (Unix seconds) and a digest of it keyed by the token
        and the session secret (empty when no token is set)."""
        if not self.configured:
            return ""
        expires = int(((now or datetime.now(UTC)) + self.session).timestamp())
        return f"{expires}.{self._signature(expires)}"

    def session_verdict(self, cookie: str | None, now: datetime | None = None) -> Verdict:
        """Whether a sign-in cookie is the bridge's, under today's token and secret, and not expired."""
        if not self.configured:
            return Verdict.UNSET
        if not cookie:
            return Verdict.MISSING
        expires_text, _, signature = cookie.partition(".")
        if not expires_text.isascii() or not expires_text.isdigit() or len(expires_text) > 12:
            return Verdict.WRONG
        expires = int(expires_text)
        if not same(signature, self._signature(expires)):
            return Verdict.WRONG
        return Verdict.ALLOWED if (now or datetime.now(UTC)).timestamp() < expires else Verdict.MISSING

    def holder(self, request: Request) -> Verdict:
        """Whether a request carries the operator token: as a bearer token, or a sign-in cookie."""
        given = bearer(request)
        if given is not None:
            return self.check(given)
        return self.session_verdict(request.cookies.get(COOKIE_NAME))

    def reader(self, request: Request) -> Verdict:
        """Whether a request may read: always when the pages are open, else by bearer token or cookie."""
        if not self.protect_pages:
            return Verdict.ALLOWED
        return self.holder(request)

    def guarded(self, path: str) -> bool:
        """Whether the token is asked for on this path outside the pages and the API (docs, metrics)."""
        return (self.protect_docs and path in DOCS_PATHS) or (self.protect_metrics and path == METRICS_PATH)

    async def operations(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """HTTP middleware: /docs and /metrics only for the token's holders, when so configured."""
        path = request.url.path
        if not self.guarded(path):
            return await call_next(request)
        verdict = self.holder(request)
        if verdict is Verdict.ALLOWED:
            return await call_next(request)
        if path in DOCS_PATHS and path != "/openapi.json" and verdict is Verdict.MISSING:
            return RedirectResponse(f"{LOGIN_PATH}?{urlencode({'next': path})}", status_code=303)
        try:
            self._answer(verdict)
        except HTTPException as refused:
            return JSONResponse({"detail": refused.detail}, refused.status_code, headers=refused.headers)
        raise AssertionError("a verdict other than allowed is always refused")  # pragma: no cover

    # --- FastAPI dependencies ---------------------------------------------------------------------

    def page(self, request: Request) -> None:
        """Let a page through, or send the browser to sign in (the pages' router dependency)."""
        path = request.url.path
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return
        verdict = self.reader(request)
        if verdict is Verdict.ALLOWED:
            return
        if verdict is Verdict.UNSET:
            raise HTTPException(403, f"The pages are protected but no operator token is set. {HOW_TO_SET}")
        target = path + (f"?{request.url.query}" if request.url.query else "")
        location = f"{LOGIN_PATH}?{urlencode({'next': target})}"
        raise HTTPException(303, "sign in with the operator token", headers={"Location": location})

    def api(self, request: Request) -> None:
        """Let a read API request through, or answer 401 (no token) or 403 (a wrong one)."""
        self._answer(self.reader(request))

    def operator(self, request: Request) -> None:
        """Let a write through only with the operator token as a bearer token (the cookie is not enough)."""
        self._answer(self.check(bearer(request)))

    @staticmethod
    def _answer(verdict: Verdict) -> None:
        if verdict is Verdict.MISSING:
            raise HTTPException(
                401, "send the operator token: Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
            )
        if verdict is Verdict.WRONG:
            raise HTTPException(403, "that is not the operator token")
        if verdict is Verdict.UNSET:
            raise HTTPException(403, f"no operator token is configured, so nobody may do this. {HOW_TO_SET}")


def login_router(gate: Gate) -> APIRouter:
    """The sign-in form that sets the cookie the protected pages accept, and signing out."""
    router = APIRouter()

    def login_page(next_path: str, problem: str | None = None, status: int = 200) -> HTMLResponse:
        answer = page_html(
            "login.html",
            LOGIN_PATH,
            next_path=next_path,
            problem=problem,
            protected=gate.protect_pages,
            configured=gate.configured,
            how_to_set=HOW_TO_SET,
            login_path=LOGIN_PATH,
            logout_path=LOGOUT_PATH,
            session_hours=f"{gate.session.total_seconds() / 3600:g}",
        )
        answer.status_code = status
        return answer

    @router.get(LOGIN_PATH, response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        """Ask for the operator token."""
        return login_page(local_path(request.query_params.get("next")))

    @router.post(LOGIN_PATH, response_model=None)
    def login(request: Request, fields: Form) -> Response:
        """Check the token; if right, set the cookie and go on to the page asked for."""
        next_path = local_path(fields.get("next"))
        verdict = gate.check(fields.get("token"))
        if verdict is Verdict.UNSET:
            return login_page(next_path, f"No operator token is configured. {HOW_TO_SET}", 403)
        if verdict is not Verdict.ALLOWED:
            return login_page(next_path, "That is not the operator token. Nothing was changed.", 403)
        answer = RedirectResponse(next_path, status_code=303)
        answer.set_cookie(
            COOKIE_NAME,
            gate.cookie_value(),
            max_age=int(gate.session.total_seconds()),
            path="/",
            httponly=True,
            samesite="strict",
            # Only over HTTPS: a Secure cookie is never sent back over plain HTTP (loopback, the sandbox).
            # Behind a proxy the scheme is the proxy's X-Forwarded-Proto, if service.trusted_proxies
            # names the proxy.
            secure=request.url.scheme == "https",
        )
        return answer

    @router.post(LOGOUT_PATH)
    def logout(request: Request) -> RedirectResponse:
        """Forget the cookie (the browser drops it; a copy of it still ends at its expiry, or at once
        when the session secret changes)."""
        answer = RedirectResponse(LOGIN_PATH, status_code=303, headers={"Clear-Site-Data": '"cookies"'})
        answer.delete_cookie(
            COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )
        return answer

    return router
