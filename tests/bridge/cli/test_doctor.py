"""`bridge doctor` against the sandbox: a checklist, warnings for doubts, exit 1 on a failure."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.config import load_settings
from bridge.sandbox.runner import Sandbox
from bridge.service.runtime.doctor import CheckStatus, diagnose
from connectors.simulation import free_port

os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    work = tmp_path_factory.mktemp("doctor")
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=work / "sandbox") as box:
        yield box


@pytest.fixture
def env(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    """A migrated database of the test's own."""
    variables = {"BRIDGE_DATABASE__URL": f"sqlite:///{tmp_path / 'bridge.db'}"}
    upgraded = CliRunner().invoke(app, ["db", "upgrade", "--config", str(sandbox.config_path)], env=variables)
    assert upgraded.exit_code == 0, upgraded.output
    return variables


def _doctor(sandbox: Sandbox, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["doctor", "--config", str(sandbox.config_path)], env=env)
    return result.exit_code, result.output


def _status(sandbox: Sandbox, env: dict[str, str], system: str, name: str) -> CheckStatus:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        checks = diagnose(load_settings(sandbox.config_path))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return next(c.status for c in checks if c.system == system and c.name == name)


def test_a_healthy_sandbox_passes_with_a_warning_for_the_state_its_process_lacks(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    code, output = _doctor(sandbox, env)
    assert code == 0, output
    for line in ("migrated", "project mhhs/dip-platform", "change_request has all", "Ready for Retest"):
        assert line in output
    # The sandbox's environment field is a reference, and the doctor says so.
    assert "u_environment: references, read by their display values" in " ".join(output.split())
    # The policy's default eligible states are Fixed and Resolved; the sandbox's process has no Resolved.
    assert "Resolved missing" in output
    assert _status(sandbox, env, "ado", "eligible states") is CheckStatus.WARNING
    for secret in ("sandbox-gitlab-token", "sandbox-servicenow-password", "sandbox-ado-pat"):
        assert secret not in output


def test_an_unmigrated_database_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    code, output = _doctor(sandbox, {"BRIDGE_DATABASE__URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert code == 1
    assert "bridge db upgrade" in output


@pytest.mark.parametrize(
    ("override", "system", "name"),
    [
        ({"BRIDGE_POLICIES__ELIGIBLE_STATES": '["Resolved", "Done"]'}, "ado", "eligible states"),
        ({"BRIDGE_POLICIES__READY_FOR_RETEST_STATE": "Awaiting Retest"}, "ado", "state Awaiting Retest"),
        ({"BRIDGE_ADO__WORK_ITEM_TYPE": "Gremlin"}, "ado", "work item type"),
        ({"BRIDGE_SERVICENOW__FIELDS__ENVIRONMENT": "u_no_such_field"}, "servicenow", "fields"),
        ({"BRIDGE_GITLAB__TOKEN": "not-the-token"}, "gitlab", "credentials"),
    ],
    ids=["no-eligible-state", "no-retest-state", "no-work-item-type", "unknown-field", "bad-token"],
)
def test_a_mapping_or_credential_the_system_refuses_fails(
    sandbox: Sandbox, env: dict[str, str], override: dict[str, str], system: str, name: str
) -> None:
    code, output = _doctor(sandbox, {**env, **override})
    assert code == 1, output
    assert _status(sandbox, {**env, **override}, system, name) is CheckStatus.FAILED
    assert "not-the-token" not in output


def test_a_missing_project_and_an_unreachable_system_fail_fast(
    sandbox: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "bridge.toml"
    text = sandbox.config_path.read_text(encoding="utf-8")
    config.write_text(
        text.replace("mhhs/helix-settlement", "mhhs/no-such-project").replace(
            sandbox.url("servicenow"), f"http://127.0.0.1:{free_port('127.0.0.1')}"
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["doctor", "--config", str(config)], env=env)
    assert result.exit_code == 1
    assert "project mhhs/no-such-project" in result.output
    assert "404" in result.output
    assert "sandbox-servicenow-password" not in result.output
    assert "2 failed" in result.output  # the project and ServiceNow; the other checks still ran
    assert "Defect exists" in result.output
