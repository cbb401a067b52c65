"""Protected pages (`protect_pages`): without the operator token the pages send to /login and the read
API answers 401; with it (a bearer token, or the cookie /login sets) both work; the token is never shown."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bridge.service.app import create_app
from bridge.service.pages import PageOptions
from bridge.service.pages.access import COOKIE_NAME, Gate, Verdict, local_path
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
    assert value == Gate(SecretStr(TOKEN), True).cookie_value()

    for path in (*PAGES, *API):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert TOKEN not in answer.text
    # The cookie lets a person read, not write: the write API wants the token itself.
    assert client.post("/api/outbox/1/retry").status_code == 401

    out = client.post("/logout", follow_redirects=False)
    assert out.status_code == 303 and client.cookies.get(COOKIE_NAME) is None
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
    assert Gate(SecretStr("other"), True).cookie_value() != gate.cookie_value()
    assert TOKEN not in repr(gate)
