"""No secret in what the CLI prints or logs: every command that shows configuration or an error, run as a
user runs it, with every secret set (and passwords inside URLs), its output and logs searched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connectors.simulation import free_port

# Starts processes: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
DB_PASSWORD = "Db-Pass%40-4711"  # percent-encoded in the URL: "Db-Pass@-4711" once decoded
GITLAB_URL_PASSWORD = "Gl-Url-Pass-4712"
SECRETS = {
    "BRIDGE_GITLAB__TOKEN": "Gl-Token-4713",
    "BRIDGE_GITLAB__WEBHOOK_SECRET": "Gl-Hook-4714",
    "BRIDGE_SERVICENOW__PASSWORD": "Sn-Pass-4715",
    "BRIDGE_SERVICENOW__WEBHOOK_SECRET": "Sn-Hook-4716",
    "BRIDGE_ADO__PAT": "Ado-Pat-4717",
    "BRIDGE_ADO__WEBHOOK_PASSWORD": "Ado-Hook-4718",
    "BRIDGE_SERVICE__OPERATOR_TOKEN": "Op-Token-4719",
    "BRIDGE_SERVICE__SESSION_SECRET": "Session-4720",
}
# Every form a secret could be printed in.
LEAKS = [*SECRETS.values(), DB_PASSWORD, "Db-Pass@-4711", GITLAB_URL_PASSWORD]
UNREACHABLE_DB = f"postgresql+psycopg://bridge:{DB_PASSWORD}@127.0.0.1:1/bridge"


def environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    return {
        **env,
        **SECRETS,
        "BRIDGE_DATABASE__URL": database_url,
        "BRIDGE_GITLAB__URL": f"http://gl-user:{GITLAB_URL_PASSWORD}@127.0.0.1:1/",
        "BRIDGE_SERVICENOW__URL": "http://127.0.0.1:1/",
        "BRIDGE_SERVICENOW__USER": "bridge",
        "BRIDGE_ADO__ORGANIZATION_URL": "http://127.0.0.1:1/mhhs",
        "BRIDGE_ADO__PROJECT": "Programme",
        "BRIDGE_RETRY__TOTAL_S": "1",
        "AZURE_DEVOPS_CACHE_DIR": str(tmp_path / "ado-cache"),
    }


def bridge(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def leaked(text: str) -> list[str]:
    return [secret for secret in LEAKS if secret in text]


COMMANDS = [
    ("config", "show"),
    ("config", "show", "--json"),
    ("doctor",),
    ("db", "upgrade"),
    ("reconcile", "--once"),
    ("backfill", "--since", "2026-01-01"),
    ("outbox", "list"),
    ("outbox", "retry", "1"),
    ("report", "--format", "md"),
    ("show", "release", "dip-platform", "1.0.0.0"),
    ("show", "environment", "SIT-A"),
]


# On a store that works, the commands that reach the (unreachable) systems fail there instead.
CASES = [(args, "unreachable postgresql") for args in COMMANDS] + [
    (args, "sqlite") for args in COMMANDS if args[0] in {"doctor", "reconcile", "backfill", "outbox"}
]


@pytest.mark.parametrize(("args", "database"), CASES, ids=[f"{' '.join(a)} on {d}" for a, d in CASES])
def test_no_command_prints_a_secret(tmp_path: Path, args: tuple[str, ...], database: str) -> None:
    url = UNREACHABLE_DB if database != "sqlite" else f"sqlite:///{tmp_path / 'bridge.db'}"
    env = environment(tmp_path, url)
    if database == "sqlite":
        assert bridge(env, "db", "upgrade", cwd=tmp_path).returncode == 0
    result = bridge(env, *args, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert not leaked(output), output
    assert "Traceback" not in output, output
    if args[:2] == ("config", "show"):
        assert result.returncode == 0
        assert "bridge:***@127.0.0.1:1/bridge" in output and "gl-user:***@127.0.0.1:1" in output
    elif database != "sqlite" and args[0] not in {"doctor"}:
        assert result.returncode != 0 and "error: the database cannot be used" in output, output


def test_a_bad_configuration_file_names_the_key_without_its_secrets(tmp_path: Path) -> None:
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'[database]\nurl = "mysql://bridge:{DB_PASSWORD}@db.internal/bridge"\n'
        f'[gitlab]\nurl = "ftp://gl-user:{GITLAB_URL_PASSWORD}@gitlab.internal"\ntoken = 5\n',
        encoding="utf-8",
    )
    env = environment(tmp_path, UNREACHABLE_DB)
    for key in ("BRIDGE_DATABASE__URL", "BRIDGE_GITLAB__URL", "BRIDGE_GITLAB__TOKEN"):
        del env[key]
    for args in (("config", "show"), ("doctor",), ("run",), ("reconcile", "--once")):
        result = bridge(env, *args, "--config", str(config), cwd=tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "database.url" in output and "gitlab.url" in output
        assert not leaked(output), output


def test_the_running_service_logs_no_secret(tmp_path: Path) -> None:
    """`bridge run` with every secret set and unreachable systems: its start, failed polls and stop."""
    env = environment(tmp_path, f"sqlite:///{tmp_path / 'bridge.db'}")
    env["BRIDGE_GITLAB__POLL_INTERVAL_S"] = "0.5"
    port = free_port()
    log = tmp_path / "bridge.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "run", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "poll" not in log.read_text():
                time.sleep(0.2)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    text = log.read_text()
    assert "poll" in text, text
    assert not leaked(text), text
