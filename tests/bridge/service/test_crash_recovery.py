"""A dispatcher process killed mid-batch and started again finishes the work, repeating nothing visible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bridge.sandbox.runner import Sandbox

ROOT = Path(__file__).resolve().parents[3]
DEFECTS = 300


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def _release_note(ids: list[int], rfc: str) -> str:
    rows = "\n".join(f"| {i} | 3 - Medium | Defect {i} |" for i in ids)
    return f"""# DIP Platform — Release 1.0.2.0

| Item | Detail |
|---|---|
| Programme | MHHS |
| Release number | 1.0.2.0 |
| Source control tag | dip-platform/1.0.2.0 |
| RFC | {rfc} |

## Defects fixed
| ID | Severity | Summary |
|---|---|---|
{rows}
"""


def _reconcile(config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "reconcile", "--once", "--config", str(config)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        ids = [
            int(str(box.ado.create_work_item({"System.Title": f"Crash {n}", "System.State": "Fixed"})["id"]))
            for n in range(DEFECTS)
        ]
        number = box.seeded.rfcs["dip-next"]
        project = box.seeded.projects["mhhs/dip-platform"]
        sha = box.gitlab.add_commit(project, "Prepare 1.0.2.0")
        box.gitlab.create_release(project, "dip-platform/1.0.2.0", _release_note(ids, number), ref=sha)
        box.servicenow.update(
            "change_request",
            box.seeded.rfc_sys_ids["dip-next"],
            {
                "state": "0",
                "approval": "approved",
                "short_description": "Deploy dip-platform 1.0.2.0 to SIT-A",
            },
        )
        env = dict(os.environ)
        env.update(
            {
                "BRIDGE_DATABASE__URL": f"sqlite:///{tmp_path / 'bridge.db'}",
                "BRIDGE_SERVICE__ACTION_LEASE_S": "1",
                "AZURE_DEVOPS_CACHE_DIR": str(tmp_path / "ado-cache"),
                # One $batch at a time, so that a kill during the first leaves the second unsent.
                "BRIDGE_ADO__PARALLEL_REQUESTS": "1",
            }
        )
        # Slow ADO down so that the kill lands while a $batch of moves is in flight.
        box.ado.plan.configure({"latency_ms": 150})
        first = _reconcile(box.config_path, env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and first.poll() is None:
            if box.ado.stats.snapshot()["requests"].get(
                "PATCH /{org}/_apis/wit/$batch", 0
            ) + box.ado.stats.snapshot()["requests"].get("POST /{org}/_apis/wit/$batch", 0):
                break
            time.sleep(0.01)
        assert first.poll() is None, "the dispatcher finished before it could be killed"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        box.ado.plan.configure({"latency_ms": 0})
        time.sleep(0.5)  # a $batch the server had already taken is finished by it
        moved_before_restart = sum(
            str(box.ado.get_work_item(i)["fields"]["System.State"]) == "Ready for Retest" for i in ids
        )
        # The kill landed mid-work: the first batch of 200 reached ADO, the rest had not been sent.
        assert moved_before_restart == 200, moved_before_restart

        time.sleep(1.5)  # the killed dispatcher's lease runs out
        for _ in range(3):
            again = _reconcile(box.config_path, env)
            _, err = again.communicate(timeout=120)
            assert again.returncode == 0, err.decode()

        states = Counter(str(box.ado.get_work_item(i)["fields"]["System.State"]) for i in ids)
        assert states == {"Ready for Retest": DEFECTS}
        for defect_id in ids:
            comments = [
                c for c in box.ado.model.comment_list(defect_id) if "Release bridge" in str(c.get("text", ""))
            ]
            assert len(comments) == 1, f"defect {defect_id} has {len(comments)} bridge comments"
            links = [
                r for r in box.ado.get_work_item(defect_id).get("relations", []) if r["rel"] == "Hyperlink"
            ]
            assert len(links) == len({r["url"] for r in links})
        notes = [
            e["value"]
            for e in box.servicenow.journal(box.seeded.rfc_sys_ids["dip-next"])
            if e["value"].startswith("[Release bridge]")
        ]
        assert len(notes) == len(set(notes))
