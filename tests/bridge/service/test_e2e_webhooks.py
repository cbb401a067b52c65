"""End to end through a running `bridge run`: a release carried by webhooks, by polls, by polls when
webhooks are lost, through duplicated and reordered webhooks, rolled back, and in a dry run."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.sandbox.runner import Sandbox
from bridge.store import Store
from bridge.store.outbox import ActionStatus
from connectors.simulation import free_port
from tests.bridge.service.test_e2e_support import (
    BridgeProcess,
    bridge_comments,
    bridge_notes,
    running,
    sandbox,
    state,
    wait_for,
    writes,
)

os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))

FIXED = ("dip-dup-msg", "dip-bst")  # listed as fixed, in an eligible state
LATE = "dip-replay-ui"  # listed as fixed, still In Progress when the release is deployed
RETEST = "Ready for Retest"


# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


def _note(box: Sandbox) -> str:
    rows = "\n".join(f"| {box.seeded.defects[key]} | 3 - Medium | Fix {key} |" for key in (*FIXED, LATE))
    return f"""# DIP Platform — Release 1.0.2.0

| Item | Detail |
|---|---|
| Programme | MHHS |
| Release number | 1.0.2.0 |
| Source control tag | dip-platform/1.0.2.0 |
| RFC | {box.seeded.rfcs["dip-next"]} |

## Defects fixed
| ID | Severity | Summary |
|---|---|---|
{rows}
"""


def _publish(box: Sandbox) -> None:
    """dip-platform 1.0.2.0: a tag and its release note, naming the RFC dip-next."""
    project = box.seeded.projects["mhhs/dip-platform"]
    sha = box.gitlab.add_commit(project, "Prepare 1.0.2.0")
    box.gitlab.create_release(project, "dip-platform/1.0.2.0", _note(box), ref=sha)


def _deploy(box: Sandbox) -> None:
    """The release manager takes dip-next through Implement to Review."""
    sys_id = box.seeded.rfc_sys_ids["dip-next"]
    box.servicenow.update(
        "change_request",
        sys_id,
        {"approval": "approved", "state": "-1", "short_description": "Deploy dip-platform 1.0.2.0 to SIT-A"},
    )
    box.servicenow.update("change_request", sys_id, {"state": "0", "work_notes": "Deployed to SIT-A."})


def _states(box: Sandbox, keys: tuple[str, ...]) -> dict[str, str]:
    return {key: state(box, key) for key in keys}


def _polls(bridge: BridgeProcess) -> dict[str, Any]:
    report = httpx.get(f"{bridge.url}/readyz", timeout=5).json()
    return {source: poll["last_poll_at"] for source, poll in report["sources"].items()}


def _deliveries(box: Sandbox) -> Counter[tuple[str, str]]:
    """Webhook deliveries by (system, outcome), with 202 and 200 told apart from failures."""
    counted: Counter[tuple[str, str]] = Counter()
    for name in ("gitlab", "servicenow", "ado"):
        for record in getattr(box, name).webhooks.log():
            outcome = record["outcome"]
            if record["status"] not in (200, 202) and outcome != "dropped":
                outcome = f"{outcome}:{record['status']}"
            counted[(name, outcome)] += 1
    return counted


def _carried_to_retest(box: Sandbox, *, release_held: bool = False) -> None:
    """Publish, deploy, then the late defect becomes Fixed: every listed defect ends Ready for Retest.

    `release_held`: a delivery the simulators hold back goes out after the next one; when there is no
    next one, the waits send it, as a later change would.
    """

    def moved(keys: tuple[str, ...]) -> bool:
        if release_held:
            for name in ("gitlab", "servicenow", "ado"):
                getattr(box, name).webhooks.flush(timeout_s=0)
        return all(s == RETEST for s in _states(box, keys).values())

    _publish(box)
    _deploy(box)
    wait_for(lambda: moved(FIXED), what="the fixed defects moved")
    assert state(box, LATE) == "In Progress"  # left alone, and reported
    box.ado.update_work_item(box.seeded.defects[LATE], {"System.State": "Fixed"}, by="Developer")
    wait_for(lambda: moved((LATE,)), what="the late defect moved once it was Fixed")


def _moved_once_each(box: Sandbox) -> None:
    for key in (*FIXED, LATE):
        comments = bridge_comments(box, box.seeded.defects[key])
        assert len(comments) == 1, (key, comments)
        assert "dip-platform 1.0.2.0" in comments[0] and box.seeded.rfcs["dip-next"] in comments[0]


def test_webhooks_alone_carry_a_release_from_its_tag_to_retest(tmp_path: Path) -> None:
    port = free_port()
    with (
        sandbox(tmp_path, webhook_target=f"http://127.0.0.1:{port}") as box,
        running(box, tmp_path, database_url=f"sqlite:///{tmp_path / 'bridge.db'}", port=port) as bridge,
    ):
        wait_for(lambda: bridge_notes(box, "helix-1100"), what="the first poll's work note")
        polled = _polls(bridge)
        _carried_to_retest(box)
        _moved_once_each(box)
        wait_for(lambda: any("1.0.2.0" in note for note in bridge_notes(box, "dip-next")), what="work note")
        # No poll ran after the first: the tag, the RFC's moves and the defect's fix came by webhook.
        assert _polls(bridge) == polled
        delivered = _deliveries(box)
        for system in ("gitlab", "servicenow", "ado"):
            assert delivered[(system, "sent")] > 0, delivered
        assert not [key for key in delivered if ":" in key[1]], delivered


def test_polls_alone_carry_a_release_when_no_webhook_is_configured(tmp_path: Path) -> None:
    with (
        sandbox(tmp_path) as box,
        running(box, tmp_path, database_url=f"sqlite:///{tmp_path / 'bridge.db'}", poll_interval_s=0.15),
    ):
        _carried_to_retest(box)
        _moved_once_each(box)
        assert sum(_deliveries(box).values()) == 0


def test_lost_webhooks_are_recovered_by_polling(tmp_path: Path) -> None:
    port = free_port()
    lost = {name: {"webhook_fail_rate": 1.0} for name in ("gitlab", "servicenow", "ado")}
    with (
        sandbox(tmp_path, webhook_target=f"http://127.0.0.1:{port}", faults=lost) as box,
        running(
            box, tmp_path, database_url=f"sqlite:///{tmp_path / 'bridge.db'}", port=port, poll_interval_s=0.2
        ),
    ):
        _carried_to_retest(box)
        _moved_once_each(box)
        delivered = _deliveries(box)
        assert delivered[("servicenow", "dropped")] >= 2 and delivered[("ado", "dropped")] >= 1, delivered
        assert delivered[("servicenow", "sent")] == 0


def test_duplicated_and_reordered_webhooks_move_each_defect_once(tmp_path: Path) -> None:
    port = free_port()
    noisy = {
        name: {"webhook_duplicate_rate": 1.0, "webhook_reorder_rate": 0.5, "seed": 7}
        for name in ("gitlab", "servicenow", "ado")
    }
    with (
        sandbox(tmp_path, webhook_target=f"http://127.0.0.1:{port}", faults=noisy) as box,
        running(box, tmp_path, database_url=f"sqlite:///{tmp_path / 'bridge.db'}", port=port) as bridge,
    ):
        polled = _polls(bridge)
        _carried_to_retest(box, release_held=True)
        for name in ("gitlab", "servicenow", "ado"):
            getattr(box, name).webhooks.flush()
        _moved_once_each(box)
        assert _polls(bridge) == polled
        delivered = _deliveries(box)
        assert delivered[("servicenow", "duplicate")] >= 2 and delivered[("ado", "duplicate")] >= 1, delivered
        assert not [key for key in delivered if ":" in key[1]], delivered
        notes = bridge_notes(box, "dip-next")
        assert len(notes) == len(set(notes))


def _current(database_url: str, environment: str, component: str) -> str | None:
    store = Store.from_url(database_url)
    try:
        with store.transaction(readonly=True) as tx:
            row = tx.ledger.current(environment, component)
        return None if row is None else row.version
    finally:
        store.close()


def test_a_backed_out_rfc_moves_its_defects_back(tmp_path: Path) -> None:
    port = free_port()
    database_url = f"sqlite:///{tmp_path / 'bridge.db'}"
    with (
        sandbox(tmp_path, webhook_target=f"http://127.0.0.1:{port}") as box,
        running(box, tmp_path, database_url=database_url, port=port),
    ):
        _publish(box)
        _deploy(box)
        wait_for(
            lambda: all(s == RETEST for s in _states(box, FIXED).values()), what="the fixed defects moved"
        )
        wait_for(
            lambda: _current(database_url, "SIT-A", "dip-platform") == "1.0.2.0", what="1.0.2.0 in SIT-A"
        )
        box.servicenow.update(
            "change_request",
            box.seeded.rfc_sys_ids["dip-next"],
            {"state": "3", "close_code": "unsuccessful", "close_notes": "Backed out: smoke tests failed."},
        )
        wait_for(
            lambda: all(s == "Fixed" for s in _states(box, FIXED).values()), what="the defects moved back"
        )
        for key in FIXED:
            comments = bridge_comments(box, box.seeded.defects[key])
            assert len(comments) == 2, comments  # the move, and the move back
        assert state(box, LATE) == "In Progress"
        # The version before is current in SIT-A again.
        wait_for(lambda: _current(database_url, "SIT-A", "dip-platform") == "1.0.1.1", what="1.0.1.1 again")


def test_a_dry_run_computes_everything_and_writes_nothing(tmp_path: Path) -> None:
    port = free_port()
    with sandbox(tmp_path, webhook_target=f"http://127.0.0.1:{port}") as box:
        before = writes(box)
        with running(
            box,
            tmp_path,
            database_url=f"sqlite:///{tmp_path / 'bridge.db'}",
            port=port,
            extra_args=("--dry-run",),
        ) as bridge:
            _publish(box)
            _deploy(box)
            store = Store.from_url(f"sqlite:///{tmp_path / 'bridge.db'}")
            try:

                def planned_moves() -> int:
                    with store.transaction(readonly=True) as tx:
                        rows = tx.outbox.list(ActionStatus.SKIPPED, limit=1000)
                    return sum(row.kind == "move_defect" for row in rows)

                wait_for(lambda: planned_moves() >= len(FIXED), what="the moves computed and skipped")
                with store.transaction(readonly=True) as tx:
                    counts = tx.outbox.counts()
                    skipped = tx.outbox.list(ActionStatus.SKIPPED, limit=1000)
            finally:
                store.close()
            assert counts[ActionStatus.DONE] == 0
            assert all(row.detail == "dry run: not written" for row in skipped)
            assert bridge.process is not None and bridge.process.poll() is None
        assert writes(box) == before
        assert _states(box, FIXED) == dict.fromkeys(FIXED, "Fixed")
        assert bridge_notes(box, "helix-1100") == [] and bridge_notes(box, "dip-next") == []
