"""The processor against the sandbox: polls, plans, writes back once, moves defects and moves them back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config import load_settings
from bridge.domain.events import Source
from bridge.sandbox.runner import Sandbox
from bridge.service.runtime.wiring import build_connectors, engine_context, load_mappings
from bridge.service.worker.processor import Processor
from bridge.store import Store
from bridge.store.outbox import ActionStatus

# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        yield box


def _processor(box: Sandbox, store: Store, *, dry_run: bool = False) -> Processor:
    settings = load_settings(box.config_path)
    mappings = load_mappings()
    return Processor(
        store, build_connectors(settings, mappings), engine_context(settings, mappings), dry_run=dry_run
    )


def _bridge_notes(box: Sandbox, key: str) -> list[str]:
    return [
        entry["value"]
        for entry in box.servicenow.journal(box.seeded.rfc_sys_ids[key])
        if entry["value"].startswith("[Release bridge]")
    ]


def _state(box: Sandbox, key: str) -> str:
    return str(box.ado.get_work_item(box.seeded.defects[key])["fields"]["System.State"])


def test_a_cycle_links_writes_back_once_and_moves_defects_when_the_rfc_is_deployed(
    sandbox: Sandbox, store: Store
) -> None:
    processor = _processor(sandbox, store)
    first = processor.run_once()
    assert first["polled"] == {"gitlab": 5, "servicenow": 6, "ado": 30}
    assert len(_bridge_notes(sandbox, "helix-1100")) == 1
    rfc = sandbox.servicenow.get("change_request", sandbox.seeded.rfc_sys_ids["helix-1100"])
    assert rfc is not None and rfc["correlation_id"] == "release-bridge:helix-settlement:1.1.0.0"
    assert _state(sandbox, "helix-negative") == "Fixed"

    # The release manager takes the RFC through Implement to Review.
    sys_id = sandbox.seeded.rfc_sys_ids["helix-1100"]
    sandbox.servicenow.update("change_request", sys_id, {"state": "-1", "work_notes": "Deploying."})
    sandbox.servicenow.update("change_request", sys_id, {"state": "0"})
    processor.run_once()
    assert _state(sandbox, "helix-negative") == "Ready for Retest"
    comments = sandbox.ado.get_work_item(sandbox.seeded.defects["helix-negative"])
    assert "helix-settlement 1.1.0.0" in str(comments["fields"].get("System.History", ""))
    with store.transaction(readonly=True) as tx:
        current = {(d.environment, d.component): d.version for d in tx.ledger.deployed()}
        assert current[("SIT-B", "helix-settlement")] == "1.1.0.0"
        trail = tx.audit.list(record=f"defect:{sandbox.seeded.defects['helix-negative']}")
        assert [entry.change for entry in trail] == ["state Fixed → Ready for Retest, comment added"]
        done = tx.outbox.list(ActionStatus.DONE, target=Source.ADO)
        assert len(done) == 1

    # Nothing new: another cycle writes nothing more anywhere.
    notes = len(_bridge_notes(sandbox, "helix-1100"))
    revision = sandbox.ado.get_work_item(sandbox.seeded.defects["helix-negative"])["rev"]
    again = processor.run_once()
    assert again["dispatched"] == 0
    assert len(_bridge_notes(sandbox, "helix-1100")) == notes
    assert sandbox.ado.get_work_item(sandbox.seeded.defects["helix-negative"])["rev"] == revision

    # The deployment is backed out: the defect goes back to Fixed.
    sandbox.servicenow.update(
        "change_request", sys_id, {"state": "3", "close_code": "unsuccessful", "close_notes": "Backed out."}
    )
    processor.run_once()
    assert _state(sandbox, "helix-negative") == "Fixed"


def test_a_new_processor_on_the_same_store_picks_up_where_the_last_left_off(
    sandbox: Sandbox, store: Store
) -> None:
    _processor(sandbox, store).run_once()
    notes = len(_bridge_notes(sandbox, "helix-1100"))
    restarted = _processor(sandbox, store)
    result = restarted.run_once()
    assert result["dispatched"] == 0
    assert len(_bridge_notes(sandbox, "helix-1100")) == notes
    assert len(restarted.state.defects) == 30


def test_a_dry_run_writes_nothing_to_the_systems(sandbox: Sandbox, store: Store) -> None:
    processor = _processor(sandbox, store, dry_run=True)
    result = processor.run_once()
    assert result["dispatched"] > 0
    assert _bridge_notes(sandbox, "helix-1100") == []
    with store.transaction(readonly=True) as tx:
        skipped = tx.outbox.list(ActionStatus.SKIPPED)
        assert skipped and all(row.detail == "dry run: not written" for row in skipped)
