"""OAuth 2.0 as an instance offers it: the token endpoint and bearer tokens on the REST APIs."""

# Tokens follow the instance defaults of an OAuth application registry entry: access tokens live
# 1,799 seconds, refresh tokens 100 days, scope `useraccount`.

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

ACCESS_LIFESPAN = timedelta(seconds=1799)
REFRESH_LIFESPAN = timedelta(days=100)


@dataclass(frozen=True)
class Grant:
    """Who a token speaks for, and until when."""

    user: str
    expires: datetime


class TokenIssuer:
    """Registered OAuth clients and the tokens issued to them."""

    def __init__(
        self,
        clients: Mapping[str, str],
        check_password: Callable[[str, str], bool],
        clock: Callable[[], datetime],
        static_token: tuple[str, str] | None = None,  # (token, user): accepted without expiry
    ) -> None:
        self.clients = dict(clients)
        self.check_password = check_password
        self.clock = clock
        self.static_token = static_token
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.lock = threading.Lock()

    def user_of(self, token: str) -> str | None:
        """The user a bearer token speaks for, or None if it is unknown or expired."""
        if self.static_token and secrets.compare_digest(token, self.static_token[0]):
            return self.static_token[1]
        with self.lock:
            grant = self.access.get(token)
        return grant.user if grant is not None and grant.expires > self.clock() else None

    def issue(self, user: str) -> dict[str, Any]:
        """A new access and refresh token for a user, in the token endpoint's JSON shape."""
        access, refresh = secrets.token_urlsafe(64), secrets.token_urlsafe(64)
        now = self.clock()
        with self.lock:
            self.access[access] = Grant(user, now + ACCESS_LIFESPAN)
            self.refresh[refresh] = Grant(user, now + REFRESH_LIFESPAN)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "scope": "useraccount",
            "token_type": "Bearer",
            "expires_in": int(ACCESS_LIFESPAN.total_seconds()),
        }

    async def token_endpoint(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        client_id, client_secret = _client_credentials(request, form)
        known = self.clients.get(client_id)
        if known is None or not secrets.compare_digest(known, client_secret):
            return _denied()
        grant = form.get("grant_type")
        if grant == "password":
            user = form.get("username", "")
            if not self.check_password(user, form.get("password", "")):
                return _denied()
            return JSONResponse(self.issue(user))
        if grant == "refresh_token":
            with self.lock:
                held = self.refresh.get(form.get("refresh_token", ""))
            if held is None or held.expires <= self.clock():
                return _denied()
            return JSONResponse(self.issue(held.user))
        return JSONResponse({"error_description": "access_denied", "error": "unsupported_grant_type"}, 400)


def _client_credentials(request: Request, form: Mapping[str, str]) -> tuple[str, str]:
    """The client's id and secret, from HTTP basic auth (what requests-oauthlib sends) or the form.

    RFC 6749 section 2.3.1 lets a client use either.
    """
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return unquote_plus(client_id), unquote_plus(secret)
    return form.get("client_id", ""), form.get("client_secret", "")


def _denied() -> Response:
    # What an instance answers to a wrong client, user or refresh token.
    return JSONResponse({"error_description": "access_denied", "error": "server_error"}, 401)
