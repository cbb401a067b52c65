"""The pages' tests: a sandbox after a deployment (in process or behind a running bridge), a browser."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bridge.config import load_settings
from bridge.sandbox.runner import Sandbox
from bridge.service.runtime.wiring import build_connectors, engine_context, load_mappings
from bridge.service.web.app import create_app
from bridge.service.worker.processor import Processor
from bridge.store import Store
from connectors.simulation import free_port
from tests.browser_fixtures import (  # noqa: F401 - fixtures are found by name
    artifacts_dir,
    browser_context,
    page,
    screenshot,
)

# The azure-devops SDK reads its location cache directory when it is imported (api-contracts.md 2.2).
os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))

ROOT = Path(__file__).resolve().parents[2]
RFC = "helix-1100"  # the demo programme's RFC that deploys helix-settlement 1.1.0.0 to SIT-B
MOVED = "helix-negative"  # a defect its note lists as fixed, Fixed in ADO: it moves on deployment
SINCE = "2024-01-01"  # the demo programme's releases are of early 2024


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def deploy(box: Sandbox, key: str = RFC) -> None:
    """The release manager takes the RFC through Implement (with a work note) to Review."""
    sys_id = box.seeded.rfc_sys_ids[key]
    box.servicenow.update("change_request", sys_id, {"state": "-1", "work_notes": "Deploying."})
    box.servicenow.update("change_request", sys_id, {"state": "0"})


def defect_state(box: Sandbox, key: str) -> str:
    return str(box.ado.get_work_item(box.seeded.defects[key])["fields"]["System.State"])


def bridge_notes(box: Sandbox, key: str) -> list[str]:
    return [
        entry["value"]
        for entry in box.servicenow.journal(box.seeded.rfc_sys_ids[key])
        if entry["value"].startswith("[Release bridge]")
    ]


@dataclass
class Seeded:
    """The sandbox after two cycles of a processor: helix-settlement 1.1.0.0 deployed to SIT-B."""

    box: Sandbox
    processor: Processor


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    work = tmp_path_factory.mktemp("seeded")
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=work / "sandbox") as box:
        settings = load_settings(box.config_path)
        mappings = load_mappings()
        store = Store.from_url(f"sqlite:///{work / 'bridge.db'}")
        store.upgrade()
        processor = Processor(store, build_connectors(settings, mappings), engine_context(settings, mappings))
        try:
            processor.run_once()
            deploy(box)
            processor.run_once()
            assert defect_state(box, MOVED) == "Ready for Retest"
            yield Seeded(box, processor)
        finally:
            store.close()


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> TestClient:
    """The service's app (read API and pages, the pages open) on the seeded processor."""
    return TestClient(create_app(seeded.processor))


@dataclass
class RunningBridge:
    """A `bridge run` process on the sandbox, its webhooks pointed at it."""

    url: str
    box: Sandbox
    process: subprocess.Popen[bytes]
    log: Path


def deployed(bridge: RunningBridge) -> None:
    """Once the running bridge has linked the RFC, deploy it (ServiceNow tells the bridge by webhook)
    and wait for the defect to move to retest."""
    wait_for(lambda: len(bridge_notes(bridge.box, RFC)) >= 1, "the bridge's work note on the RFC")
    deploy(bridge.box)
    wait_for(lambda: defect_state(bridge.box, MOVED) == "Ready for Retest", "the defect to move to retest")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.fixture
def running_bridge(tmp_path: Path) -> Iterator[RunningBridge]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    box = Sandbox(
        ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox", webhook_target=url
    )
    box.start()
    log = tmp_path / "bridge.log"
    try:
        config = box.write_config(url)
        env = {**os.environ, "AZURE_DEVOPS_CACHE_DIR": str(tmp_path / "ado-cache")}
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "bridge.cli", "run", "--config", str(config), "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for(lambda: _healthy(url) or process.poll() is not None, "the bridge to answer")
            assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            yield RunningBridge(url, box, process, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        box.stop()
