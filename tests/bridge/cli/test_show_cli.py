"""`bridge show`: a release, RFCs, a defect and an environment after a deployment, readable."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.sandbox.runner import Sandbox

os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


@dataclass
class Deployed:
    """The sandbox after helix-settlement 1.1.0.0 was deployed to SIT-B, and the bridge's database."""

    box: Sandbox
    env: dict[str, str]

    def show(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, ["show", *args, "--config", str(self.box.config_path)], env=self.env)
        return result.exit_code, result.output


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    work = tmp_path_factory.mktemp("show")
    env = {
        "BRIDGE_DATABASE__URL": f"sqlite:///{work / 'bridge.db'}",
        "BRIDGE_DATABASE__MIGRATE_ON_START": "1",
    }
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=work / "sandbox") as box:
        config = ["--config", str(box.config_path)]
        runner = CliRunner()
        first = runner.invoke(app, ["reconcile", "--once", *config], env=env)
        assert first.exit_code == 0, first.output
        sys_id = box.seeded.rfc_sys_ids["helix-1100"]
        box.servicenow.update("change_request", sys_id, {"state": "-1", "work_notes": "Deploying."})
        box.servicenow.update("change_request", sys_id, {"state": "0"})
        for _ in range(2):  # the deployment's moves, then the moved defects read back
            again = runner.invoke(app, ["reconcile", "--once", *config], env=env)
            assert again.exit_code == 0, again.output
        yield Deployed(box, env)


def test_show_release(deployed: Deployed) -> None:
    code, output = deployed.show("release", "helix-settlement", "1.1.0.0")
    assert code == 0, output
    number = deployed.box.seeded.rfcs["helix-1100"]
    defect = str(deployed.box.seeded.defects["helix-negative"])
    for text in ("helix-settlement 1.1.0.0", "minor release", "Deployed now in: SIT-B", number, defect):
        assert text in output
    assert "Ready for Retest" in output
    assert "Control points" in output and "RFC raised" in output


def test_show_rfcs(deployed: Deployed) -> None:
    numbers = [deployed.box.seeded.rfcs["helix-1100"], deployed.box.seeded.rfcs["dip-next"]]
    code, output = deployed.show("rfc", *numbers)
    assert code == 0, output
    assert all(number in output for number in numbers)
    assert "Deployed helix-settlement 1.1.0.0 to SIT-B" in output
    assert "work note added" in output


def test_show_defect(deployed: Deployed) -> None:
    defect = deployed.box.seeded.defects["helix-negative"]
    code, output = deployed.show("defect", str(defect))
    assert code == 0, output
    assert f"Defect {defect}" in output
    assert "state Ready for Retest" in output
    assert "Fixed in: helix-settlement 1.1.0.0" in output
    assert "state Fixed → Ready for Retest, comment added" in output, output


def test_show_environment_by_name_or_alias(deployed: Deployed) -> None:
    code, output = deployed.show("environment", "SIT-B")
    assert code == 0, output
    assert "helix-settlement" in output and "1.1.0.0" in output and "current" in output
    code, output = deployed.show("environment", "sit-b")
    assert code == 0, output
    assert "1.1.0.0" in output


def test_what_the_bridge_does_not_know_is_said_plainly(deployed: Deployed) -> None:
    code, output = deployed.show("release", "helix-settlement", "9.9.9.9")
    assert code == 1
    code, output = deployed.show("rfc", "CHG9999999")
    assert code == 1
    code, output = deployed.show("defect", "999999")
    assert code == 1
    code, output = deployed.show("environment", "Production")
    assert code == 0, output
    assert "Nothing deployed" in output
