"""Security headers on every answer of the service: pages, API, webhooks, errors, the OpenAPI pages."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bridge.config import Settings
from bridge.service.runtime.wiring import engine_context, load_mappings
from bridge.service.web.app import create_app
from bridge.service.worker.processor import Processor
from bridge.store import Store

# Every kind of answer: pages, their assets, the read API, operations, webhooks refused, errors.
PATHS = [
    ("GET", "/"),
    ("GET", "/environments"),
    ("GET", "/findings"),
    ("GET", "/outbox"),
    ("GET", "/report"),
    ("GET", "/report?format=md"),
    ("GET", "/releases/nothing/1.0.0.0"),
    ("GET", "/api/releases"),
    ("GET", "/api/outbox"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/no/such/page"),
    ("GET", "/assets/bridge.css"),
    ("POST", "/hooks/gitlab"),
    ("POST", "/hooks/nothing"),
    ("POST", "/api/outbox/1/retry"),
    ("DELETE", "/"),
]


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    store = Store.from_url(f"sqlite:///{tmp_path / 'bridge.db'}")
    store.upgrade()
    settings = Settings()
    context = engine_context(settings, load_mappings())
    return TestClient(create_app(Processor(store, {}, context)))


def css_path(client: TestClient) -> str:
    found = re.search(r'href="(/assets/bridge\.css[^"]*)"', client.get("/").text)
    assert found
    return found.group(1)


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_every_answer_carries_the_security_headers(client: TestClient, method: str, path: str) -> None:
    if path == "/assets/bridge.css":
        path = css_path(client)
    answer = client.request(method, path)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert "style-src 'self';" in policy and "script-src" not in policy and "unsafe-inline" not in policy
    assert "strict-transport-security" not in answer.headers, "no HSTS over plain HTTP"


def test_hsts_only_over_https(client: TestClient) -> None:
    secure = TestClient(client.app, base_url="https://bridge.example")
    assert secure.get("/healthz").headers["strict-transport-security"].startswith("max-age=")
    assert secure.get("/").headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in client.get("/healthz").headers


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_openapi_pages_allow_their_own_inline_script_by_hash_only(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    for kind, body in re.findall(r"<(script|style)>(.*?)</\1>", answer.text, flags=re.S):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        directive = next(d for d in policy.split("; ") if d.startswith(f"{kind}-src "))
        assert f"'sha256-{digest}'" in directive
    assert int(answer.headers["content-length"]) == len(answer.content)


def test_the_pages_need_no_inline_style_or_script() -> None:
    templates = Path(__file__).resolve().parents[4] / "bridge" / "service" / "web" / "pages" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script|\son[a-z]+=|\sstyle=|javascript:", text), template.name
        # The one <style> is the standalone report file's, written to disk, never served.
        assert "<style>" not in text or "inline_css" in text, template.name
