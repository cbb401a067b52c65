"""`bridge demo` (the README's first command): a release played through the sandbox and the running bridge."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli import app

ROOT = Path(__file__).resolve().parents[3]


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def test_the_demo_plays_the_release_and_reports_what_the_bridge_did_through_webhooks(
    tmp_path: Path, shared_dir: Path
) -> None:
    started = time.monotonic()
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--work-dir",
            str(tmp_path),
            "--samples",
            str(shared_dir / "samples" / "release-notes"),
            "--free-ports",
            "--no-serve",
        ],
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    output = result.output
    # The sample notes are still checked first.
    assert "dip-1.0.2.0-patch.md: 1.0.2.0 (patch), 3 fixed, 2 outstanding, RFCs CHG0031245" in output
    assert "The bridge has read the programme: 5 releases, 6 RFCs, 30 defects." in output
    # The demo's RFCs hold their environment as a reference: a sys_id the bridge reads as the name.
    assert re.search(
        r"references to u_test_environment records: CHG0000006's u_environment holds\s+[0-9a-f]{32}; "
        r"the bridge read its display value, SIT-A\.",
        output,
    ), output
    assert "ServiceNow: CHG0000006 → Review" in output
    assert "RFC linked to dip-platform/1.0.2.0: CHG0000006" in output
    assert "Defects moved to Ready for Retest (4):" in output
    assert "Duplicate MDS messages published when the DIP retries a delivery: now Ready for Retest" in output
    assert "Defects left alone (1):" in output
    assert re.search(
        r"Defect \d+ is In Progress, not Fixed or Resolved: left alone for dip-platform 1.0.2.0", output
    )
    assert "[Release bridge] Linked release(s) of CHG0000006" in output
    assert "8. Deployment issues captured (work notes during Implement): pass" in output
    assert "SIT-A runs dip-platform 1.0.2.0 (under CHG0000006)" in output
    assert "Serving" not in output
    assert elapsed < 60, f"the scripted part took {elapsed:.0f} s"

    # The bridge heard of the release and the RFC's moves by webhook, not by its 30-second polls.
    with sqlite3.connect(tmp_path / "bridge.db") as db:
        kinds = dict(db.execute("SELECT source, count(*) FROM inbox WHERE kind = 'webhook' GROUP BY source"))
    assert kinds.get("gitlab", 0) >= 1 and kinds.get("servicenow", 0) >= 5, kinds


def test_the_demo_keeps_serving_until_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "AZURE_DEVOPS_CACHE_DIR": str(tmp_path / "ado-cache")}
    demo = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "demo", "--work-dir", str(tmp_path), "--free-ports"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        lines: list[str] = []
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C stops"):
                break
        output = "".join(lines)
        # The account stands alone: the bridge's log lines (of both its processes) went to the file.
        assert " INFO " not in output and "reading inbox row" not in output, output
        assert "The bridge's log: " in output  # the path may wrap at the console's width
        assert re.search(rf"bridge log\s+{re.escape(str(tmp_path / 'bridge.log'))}", output)
        log = (tmp_path / "bridge.log").read_text(encoding="utf-8")
        assert "worker process started" in log and "reading inbox row" in log
        api = re.search(r"bridge API\s+(http://\S+)/docs", output)
        assert api, output
        with urllib.request.urlopen(f"{api.group(1)}/healthz", timeout=5) as answer:
            assert answer.status == 200
        assert re.search(r"ServiceNow\s+http://127\.0\.0\.1:\d+/api/now/table/change_request", output)
        release = re.search(r"the release\s+(http://\S+/releases/dip-platform/1\.0\.2\.0)", output)
        assert release, output
        with urllib.request.urlopen(release.group(1), timeout=5) as answer:
            assert answer.status == 200 and "<h1>dip-platform 1.0.2.0</h1>" in answer.read().decode()
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
        assert demo.returncode == 0, output + rest
        assert "Stopping." in rest
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
