"""Logs: JSON lines from `bridge run` with a correlation id per event, and never a secret."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.config import Settings, load_settings, secret_values
from bridge.sandbox.runner import Sandbox
from bridge.service.runtime.logs import MASK, configure_logging, correlated, unconfigure_logging

ROOT = Path(__file__).parents[4]
FIXTURES = ROOT / "tests" / "fixtures" / "gitlab"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError("timed out")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_bridge_run_logs_json_with_a_correlation_id_per_event_and_no_secret(
    tmp_path: Path, database_url: str
) -> None:
    port = _free_port()
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        config = box.write_config(f"http://127.0.0.1:{port}")
        secrets = secret_values(load_settings(config))
        assert len(secrets) == 7  # tokens, passwords, webhook secrets and the operator token
        env = dict(os.environ)
        env.update(
            {
                "BRIDGE_DATABASE__URL": database_url,
                "BRIDGE_LOG_FORMAT": "json",
                "AZURE_DEVOPS_CACHE_DIR": str(tmp_path / "ado-cache"),
            }
        )
        log_path = tmp_path / "bridge.log"
        with log_path.open("wb") as log_file:
            bridge = subprocess.Popen(
                [sys.executable, "-m", "bridge.cli", "run", "--config", str(config), "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for(lambda: _healthy(url))
            body = (FIXTURES / "release_create.json").read_bytes()
            s = box.secrets
            # A wrong token, with the real ones elsewhere in the request: refused, and logged without them.
            refused = httpx.post(
                f"{url}/hooks/gitlab",
                content=body,
                headers={
                    "X-Gitlab-Event": "Release Hook",
                    "X-Gitlab-Token": "wrong-token",
                    "X-Forwarded-Token": s.gitlab_hook_secret,
                    "Authorization": f"Bearer {s.gitlab_token}",
                    "Cookie": f"pat={s.ado_pat}",
                },
            )
            assert refused.status_code == 401
            wrong_basic = base64.b64encode(f"{s.ado_hook_user}:{s.ado_pat}".encode()).decode()
            refused_ado = httpx.post(
                f"{url}/hooks/ado",
                content=b"{}",
                headers={"Authorization": f"Basic {wrong_basic}", "X-Hook-Password": s.ado_hook_password},
            )
            assert refused_ado.status_code == 401
            stored = httpx.post(
                f"{url}/hooks/gitlab",
                content=body,
                headers={
                    "X-Gitlab-Event": "Release Hook",
                    "X-Gitlab-Token": s.gitlab_hook_secret,
                    "Idempotency-Key": "log-test-1",
                },
            )
            assert stored.status_code == 202
            correlation = f"gitlab-{stored.json()['inbox_id']}"

            def read_in_log() -> bool:
                return any(
                    line.get("message") == "reading inbox row" and line.get("correlation_id") == correlation
                    for line in _lines(log_path)
                )

            _wait_for(read_in_log)
            # The read API of the running service shows what its pollers brought in.
            _wait_for(lambda: httpx.get(f"{url}/api/releases").json()["total"] == 5)
            sit_b = httpx.get(f"{url}/api/environments/SIT-B").json()
            assert [c["component"] for c in sit_b["components"]] == ["helix-settlement"]
            metrics = httpx.get(f"{url}/metrics").text
            labels = 'channel="webhook",outcome="rejected",source="gitlab",status="401"'
            assert f"bridge_events_received_total{{{labels}}} 1.0" in metrics
        finally:
            bridge.send_signal(signal.SIGTERM)
            # A clean drain ends with status 0 (not by the signal uvicorn raises again).
            assert bridge.wait(timeout=30) == 0

    text = log_path.read_text()
    lines = _lines(log_path)  # every line is a JSON object
    assert all({"time", "level", "logger", "message", "correlation_id"} <= set(line) for line in lines)
    for secret in secrets:
        assert secret not in text, "a secret reached the log"
    refusals = [line for line in lines if line["message"].startswith("webhook refused")]
    assert [(line["source"], line["status"]) for line in refusals] == [("gitlab", 401), ("ado", 401)]
    (accepted,) = [line for line in lines if line["message"] == "webhook stored"]
    assert accepted["correlation_id"] == correlation and accepted["source"] == "gitlab"
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # the server's lines are JSON too
    # A write-back is logged under its action's key, the key the outbox and the audit trail show.
    actions = [line for line in lines if line["message"].startswith("action ")]
    assert actions and all(line["correlation_id"].startswith(f"{line['kind']}:") for line in actions)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_secrets_are_masked_in_messages_fields_and_errors_in_either_format(log_format: str) -> None:
    stream = io.StringIO()
    handler = configure_logging(log_format, secrets=["s3cret-token-value"], stream=stream)  # type: ignore[arg-type]
    log = logging.getLogger("bridge.test")
    try:
        with correlated("gitlab-42"):
            log.info("sent %s", "Bearer s3cret-token-value", extra={"header": "s3cret-token-value"})
            try:
                raise ValueError("refused s3cret-token-value")
            except ValueError:
                log.exception("failed")
        log.info("after")
    finally:
        logging.getLogger().removeHandler(handler)
    output = stream.getvalue()
    assert "s3cret-token-value" not in output and MASK in output
    if log_format == "json":
        first, failed, after = (json.loads(line) for line in output.splitlines() if line.startswith("{"))
        assert first["message"] == f"sent Bearer {MASK}" and first["header"] == MASK
        assert first["correlation_id"] == failed["correlation_id"] == "gitlab-42"
        assert after["correlation_id"] is None
        assert "ValueError" in failed["error"]
    else:
        assert "[gitlab-42] sent Bearer" in output and "Traceback" in output


@pytest.mark.slow
def test_settings_secrets_are_found_and_their_repr_shows_none(tmp_path: Path) -> None:
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        settings = load_settings(box.config_path)
    s = box.secrets
    assert set(secret_values(settings)) == {
        s.gitlab_token,
        s.gitlab_hook_secret,
        s.servicenow_password,
        s.servicenow_event_secret,
        s.ado_pat,
        s.ado_hook_password,
        s.operator_token,
    }
    assert not [secret for secret in secret_values(settings) if secret in repr(settings)]
    stream = io.StringIO()
    handler = configure_logging("json", secrets=secret_values(settings), stream=stream)
    try:
        logging.getLogger("bridge.test").info("settings: %r", settings)
    finally:
        logging.getLogger().removeHandler(handler)
    assert not [secret for secret in secret_values(settings) if secret in stream.getvalue()]


def test_with_a_log_file_only_warnings_and_errors_reach_the_console(tmp_path: Path) -> None:
    stream = io.StringIO()
    path = tmp_path / "logs" / "bridge.log"
    configure_logging("text", secrets=["s3cret-token-value"], stream=stream, log_file=path)
    log = logging.getLogger("bridge.test")
    try:
        log.info("reading inbox row")
        log.warning("poll of ado failed: s3cret-token-value refused")
        log.error("action dead")
    finally:
        unconfigure_logging()
    console = stream.getvalue()
    assert "reading inbox row" not in console
    assert "poll of ado failed" in console and "action dead" in console
    written = path.read_text(encoding="utf-8")
    assert "reading inbox row" in written and "poll of ado failed" in written and "action dead" in written
    assert "s3cret-token-value" not in console + written
    # Configured again, the handlers are replaced, not added to.
    configure_logging("text", stream=stream, log_file=path)
    try:
        names = [h.get_name() for h in logging.getLogger().handlers]
    finally:
        unconfigure_logging()
    assert names.count("bridge") == 1 and names.count("bridge-file") == 1


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_passwords_inside_urls_are_masked_even_when_not_configured(log_format: str) -> None:
    settings = Settings(database={"url": "postgresql+psycopg://bridge:p%40ss-word-1@db.internal/bridge"})
    secrets = secret_values(settings)
    assert {"p%40ss-word-1", "p@ss-word-1"} <= set(secrets)
    stream = io.StringIO()
    handler = configure_logging(log_format, secrets=secrets, stream=stream)  # type: ignore[arg-type]
    try:
        log = logging.getLogger("bridge.test")
        log.warning("connecting to %s", settings.database.url)
        log.warning("decoded: p@ss-word-1; a proxy: https://proxy-user:Other-Pass-9@proxy.internal:3128/x")
        log.warning(
            "redis://:only-a-password@cache.internal/0", extra={"url": "ftp://u:Ftp-Pass-1@f.example/"}
        )
    finally:
        logging.getLogger().removeHandler(handler)
    output = stream.getvalue()
    for secret in ("p%40ss-word-1", "p@ss-word-1", "Other-Pass-9", "only-a-password", "Ftp-Pass-1"):
        assert secret not in output, output
    assert "postgresql+psycopg://bridge:" in output and "proxy-user:" in output
