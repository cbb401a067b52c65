"""Sessions and proxies on a running `bridge run`, configured as an operator would: the sign-in cookie is
Secure and HSTS is sent when a trusted proxy says the client came over HTTPS, and only then; /docs and
/metrics ask for the token when configured to."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.bridge.service.test_service_stops import start

# Starts processes: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

TOKEN = "e2e-sessions-operator-token"


@contextmanager
def serving(tmp_path: Path, run: int, **service: str) -> Iterator[str]:
    process, log, url = start(tmp_path, run, operator_token=f'"{TOKEN}"', **service)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert process.poll() is None, log.read_text()
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()
    assert TOKEN not in log.read_text()


def sign_in(url: str) -> httpx.Response:
    return httpx.post(
        f"{url}/login",
        data={"token": TOKEN, "next": "/"},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
    )


def test_a_trusted_proxy_makes_the_cookie_secure_and_an_untrusted_one_does_not(tmp_path: Path) -> None:
    # The test's requests come from 127.0.0.1: first that is the proxy, then the proxy is elsewhere.
    with serving(tmp_path, 0, trusted_proxies='["127.0.0.1"]', session_hours="2") as url:
        answer = sign_in(url)
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"]
        assert "Secure" in cookie and "Max-Age=7200" in cookie and "HttpOnly" in cookie
        assert answer.headers["strict-transport-security"].startswith("max-age=")
    with serving(tmp_path, 1, trusted_proxies='["10.0.0.0/8"]') as url:
        answer = sign_in(url)
        assert answer.status_code == 303
        assert "Secure" not in answer.headers["set-cookie"]
        assert "strict-transport-security" not in answer.headers


def test_docs_and_metrics_are_protected_by_the_operator_token(tmp_path: Path) -> None:
    with serving(tmp_path, 0, protect_docs="true", protect_metrics="true") as url:
        assert httpx.get(f"{url}/metrics").status_code == 401
        assert httpx.get(f"{url}/docs").status_code == 303
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{url}/metrics", headers=bearer).status_code == 200
        assert httpx.get(f"{url}/openapi.json", headers=bearer).status_code == 200
        assert httpx.get(f"{url}/healthz").status_code == 200, "health stays open for the platform"
