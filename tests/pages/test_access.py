"""Protected pages (`protect_pages`): without the operator token the pages send to /login and the read
API answers 401; with it (a bearer token, or the cookie /login sets) both work; the token is never shown."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bridge.service.web.app import create_app
from bridge.service.web.pages import PageOptions
from bridge.service.web.pages.access import COOKIE_NAME, Gate, Verdict, local_path
from tests.pages.conftest import Seeded

TOKEN = "access-test-operator-token"
PAGES = ("/", "/environments", "/environments/SIT-B/helix-settlement", "/findings", "/outbox", "/report")
API = ("/api/environments", "/api/findings", "/api/outbox", "/api/releases")


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def protected(seeded: Seeded, token: str | None = TOKEN) -> TestClient:
    options = PageOptions(operator_token=SecretStr(token) if token else None, protect_pages=True)
    return TestClient(create_app(seeded.processor, pages=options))


@pytest.fixture
def client(seeded: Seeded) -> TestClient:
    return protected(seeded)


def test_without_the_token_pages_send_to_sign_in_and_the_api_answers_401(client: TestClient) -> None:
    for path in PAGES:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=%2F"), path
    deep = client.get("/findings?severity=warning", follow_redirects=False)
    assert deep.headers["location"] == "/login?next=%2Ffindings%3Fseverity%3Dwarning"
    for path in API:
        answer = client.get(path)
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer", path
    assert client.get("/api/findings", headers={"Authorization": "Bearer wrong"}).status_code == 403
    # A forged cookie is no better than none.
    client.cookies.set(COOKIE_NAME, "0" * 64)
    assert client.get("/findings", follow_redirects=False).status_code == 303
    assert client.get("/api/findings").status_code == 403
    # What a sign-in and a health check need stays open.
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/assets/bridge.css").status_code == 200


def test_a_bearer_token_opens_pages_and_api(client: TestClient) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for path in (*PAGES, *API):
        answer = client.get(path, headers=bearer)
        assert answer.status_code == 200, path
        assert TOKEN not in answer.text, path


def test_signing_in_sets_a_cookie_with_a_digest_not_the_token(client: TestClient) -> None:
    form = client.get("/login?next=/findings").text
    assert '<label for="token">Operator token' in form and 'type="password"' in form
    assert '<input type="hidden" name="next" value="/findings">' in form

    wrong = client.post("/login", data={"token": "nope", "next": "/findings"}, follow_redirects=False)
    assert wrong.status_code == 403 and "That is not the operator token." in wrong.text
    assert COOKIE_NAME not in wrong.headers.get("set-cookie", "")
    assert "nope" not in wrong.text

    right = client.post("/login", data={"token": TOKEN, "next": "/findings"}, follow_redirects=False)
    assert right.status_code == 303 and right.headers["location"] == "/findings"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    value = client.cookies[COOKIE_NAME]
    assert TOKEN not in cookie and value != hashlib.sha256(TOKEN.encode()).hexdigest()
    expires, _, _ = value.partition(".")
    assert abs(int(expires) - (time.time() + 12 * 3600)) < 60 and "Max-Age=43200" in cookie
    assert Gate(SecretStr(TOKEN), True).session_verdict(value) is Verdict.ALLOWED

    for path in (*PAGES, *API):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert TOKEN not in answer.text
    # The cookie lets a person read, not write: the write API wants the token itself.
    assert client.post("/api/outbox/1/retry").status_code == 401

    out = client.post("/logout", follow_redirects=False)
    assert out.status_code == 303 and client.cookies.get(COOKIE_NAME) is None
    assert out.headers["clear-site-data"] == '"cookies"' and "Max-Age=0" in out.headers["set-cookie"]
    assert client.get("/findings", follow_redirects=False).status_code == 303


def test_sign_in_goes_only_to_pages_of_this_site(client: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "", "findings"):
        answer = client.post("/login", data={"token": TOKEN, "next": target}, follow_redirects=False)
        assert answer.headers["location"] == "/", target
    assert local_path("/findings?code=x") == "/findings?code=x"


def test_protected_pages_without_a_configured_token_say_how_to_set_one(seeded: Seeded) -> None:
    client = protected(seeded, token=None)
    page = client.get("/findings", follow_redirects=False)
    assert page.status_code == 403 and "BRIDGE_SERVICE__OPERATOR_TOKEN" in page.text
    assert client.get("/api/findings").status_code == 403
    sign_in = client.post("/login", data={"token": "anything"}, follow_redirects=False)
    assert sign_in.status_code == 403 and "No operator token is configured." in sign_in.text


def test_open_pages_need_no_token(seeded: Seeded) -> None:
    client = TestClient(create_app(seeded.processor, pages=PageOptions(operator_token=SecretStr(TOKEN))))
    for path in (*PAGES, *API):
        assert client.get(path).status_code == 200, path


def test_the_gates_verdicts() -> None:
    gate = Gate(SecretStr(TOKEN), protect_pages=True)
    assert gate.check(TOKEN) is Verdict.ALLOWED
    assert gate.check(None) is Verdict.MISSING and gate.check("") is Verdict.MISSING
    assert gate.check("é" + TOKEN) is Verdict.WRONG, "non-ASCII input compares, and fails, safely"
    assert Gate(SecretStr(""), True).check(TOKEN) is Verdict.UNSET
    assert Gate(None, True).cookie_value() == ""
    assert Gate(SecretStr("other"), True).cookie_value(T0) != gate.cookie_value(T0)
    assert TOKEN not in repr(gate)


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_sign_in_ends_at_its_expiry_and_when_the_token_or_the_session_secret_changes() -> None:
    gate = Gate(SecretStr(TOKEN), True, session_secret=SecretStr("secret-1"), session=timedelta(hours=8))
    cookie = gate.cookie_value(T0)
    assert gate.session_verdict(cookie, T0 + timedelta(hours=7, minutes=59)) is Verdict.ALLOWED
    assert gate.session_verdict(cookie, T0 + timedelta(hours=8)) is Verdict.MISSING, "expired: sign in again"
    rotated = Gate(SecretStr(TOKEN), True, session_secret=SecretStr("secret-2"), session=timedelta(hours=8))
    assert rotated.session_verdict(cookie, T0) is Verdict.WRONG
    assert (
        Gate(SecretStr("new-token"), True, session_secret=SecretStr("secret-1")).session_verdict(cookie, T0)
        is Verdict.WRONG
    )
    # A cookie whose expiry is pushed forward, or that is not the bridge's at all, is refused.
    expires, _, signature = cookie.partition(".")
    for forged in (
        f"{int(expires) + 86400}.{signature}",
        f"9999999999.{signature}",
        signature,
        f"{expires}.",
        f"{expires}.{'0' * 64}",
        "-1." + signature,
        "١٢٣." + signature,  # digits, but not ASCII ones
        "",
    ):
        assert gate.session_verdict(forged, T0) is not Verdict.ALLOWED, forged


def test_an_expired_or_rotated_cookie_sends_the_browser_to_sign_in(seeded: Seeded) -> None:
    options = PageOptions(operator_token=SecretStr(TOKEN), protect_pages=True, session_secret=SecretStr("s1"))
    client = TestClient(create_app(seeded.processor, pages=options))
    gate = Gate.from_options(options)
    client.cookies.set(COOKIE_NAME, gate.cookie_value())
    assert client.get("/findings", follow_redirects=False).status_code == 200
    client.cookies.set(COOKIE_NAME, gate.cookie_value(datetime.now(UTC) - timedelta(hours=12, seconds=1)))
    assert client.get("/findings", follow_redirects=False).status_code == 303
    assert client.get("/api/findings").status_code == 401
    # The operator rotates the session secret: every cookie signed before is refused.
    client.cookies.set(COOKIE_NAME, gate.cookie_value())
    rotated = PageOptions(operator_token=SecretStr(TOKEN), protect_pages=True, session_secret=SecretStr("s2"))
    rotated_client = TestClient(create_app(seeded.processor, pages=rotated))
    rotated_client.cookies.set(COOKIE_NAME, gate.cookie_value())
    assert rotated_client.get("/findings", follow_redirects=False).status_code == 303
    assert rotated_client.get("/api/findings").status_code == 403


def test_docs_and_metrics_ask_for_the_token_when_so_configured(seeded: Seeded) -> None:
    options = PageOptions(operator_token=SecretStr(TOKEN), protect_docs=True, protect_metrics=True)
    client = TestClient(create_app(seeded.processor, pages=options))
    for path in ("/docs", "/redoc"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == f"/login?next=%2F{path[1:]}"
    assert client.get("/openapi.json").status_code == 401
    metrics = client.get("/metrics")
    assert metrics.status_code == 401 and metrics.headers["www-authenticate"] == "Bearer"
    assert "content-security-policy" in metrics.headers, "refusals carry the security headers too"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("/docs", "/redoc", "/openapi.json", "/metrics"):
        assert client.get(path, headers=bearer).status_code == 200, path
    # Signed in with the cookie, a browser reads the docs; the pages stay open as configured.
    client.post("/login", data={"token": TOKEN, "next": "/docs"}, follow_redirects=False)
    assert client.get("/docs").status_code == 200 and client.get("/findings").status_code == 200
    # Not protected (the default): open to whoever reaches the service, as before.
    open_client = TestClient(create_app(seeded.processor, pages=PageOptions(operator_token=SecretStr(TOKEN))))
    assert open_client.get("/metrics").status_code == 200 and open_client.get("/docs").status_code == 200
