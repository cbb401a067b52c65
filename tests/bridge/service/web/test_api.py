"""The read API over a processor that has run against the sandbox, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bridge.config import load_settings
from bridge.domain.actions import MoveDefect
from bridge.domain.events import Source
from bridge.sandbox.runner import Sandbox
from bridge.service.runtime.wiring import build_connectors, engine_context, load_mappings
from bridge.service.web.app import create_app
from bridge.service.worker.processor import Processor
from bridge.store import Store
from bridge.store.outbox import Completion

# Starts the sandbox, a bridge or a browser: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow


@dataclass
class Deployed:
    box: Sandbox
    processor: Processor
    client: TestClient

    def get(self, url: str, status: int = 200) -> Any:
        answer = self.client.get(url)
        assert answer.status_code == status, answer.text
        return answer.json()


@pytest.fixture
def deployed(tmp_path: Path, store: Store) -> Iterator[Deployed]:
    """helix-settlement 1.1.0.0 deployed to SIT-B: its RFC taken through Implement to Review."""
    with Sandbox(ports={"gitlab": 0, "servicenow": 0, "ado": 0}, work_dir=tmp_path / "sandbox") as box:
        settings = load_settings(box.config_path)
        mappings = load_mappings()
        processor = Processor(store, build_connectors(settings, mappings), engine_context(settings, mappings))
        processor.run_once()
        sys_id = box.seeded.rfc_sys_ids["helix-1100"]
        box.servicenow.update("change_request", sys_id, {"state": "-1", "work_notes": "Deploying."})
        box.servicenow.update("change_request", sys_id, {"state": "0"})
        processor.run_once()
        processor.run_once()  # reads back the moved defects
        with TestClient(create_app(processor)) as client:
            yield Deployed(box, processor, client)


def test_a_release_shows_its_rfcs_defects_control_points_findings_and_note_check(deployed: Deployed) -> None:
    defects = deployed.box.seeded.defects
    release = deployed.get("/api/releases/helix-settlement/1.1.0.0")
    assert release["tag"] == "helix-settlement@1.1.0.0"
    assert release["release_type"] == "minor"
    assert [(r["number"], r["state"]) for r in release["rfcs"]] == [
        (deployed.box.seeded.rfcs["helix-1100"], "review")
    ]
    fixed = {d["id"]: d["state"] for d in release["defects_fixed"]}
    assert fixed[defects["helix-negative"]] == "Ready for Retest"
    assert {d["id"] for d in release["defects_outstanding"]} == {defects["helix-slow-report"]}
    assert all(d["evidence"].startswith("release note lists it") for d in release["defects_fixed"])
    assert release["deployed_in"] == ["SIT-B"]
    points = {p["number"]: p["status"] for p in release["control_points"]}
    assert points["1"] == "pass" and points["7"] == "pass" and points["2"] == "n/a"
    assert release["note_check"]["complete"] is True and release["note_check"]["missing"] == []
    assert all(f["subject"] == "release:helix-settlement:1.1.0.0" for f in release["findings"])

    # The emergency release of dip-platform awaits its next regular release.
    emergency = deployed.get("/api/releases/dip-platform/1.0.1.1")
    assert emergency["carry_forward"] == [
        {"emergency": "dip-platform:1.0.1.1", "regular": None, "dropped": [], "ancestry": None}
    ]
    assert emergency["findings"] and {f["code"] for f in emergency["findings"]} >= {
        "control_point.4",
        "note.missing_items",
    }


def test_lists_page_unknown_items_are_404_and_openapi_documents_it_all(deployed: Deployed) -> None:
    everything = deployed.get("/api/releases")
    assert everything["total"] == 5
    dip = deployed.get("/api/releases?component=dip-platform")
    assert [r["version"] for r in dip["items"]] == ["1.0.1.1", "1.0.1.0", "1.0.0.0"]
    second = deployed.get("/api/releases?component=dip-platform&limit=2&offset=2")
    assert [r["version"] for r in second["items"]] == ["1.0.0.0"]
    assert (second["total"], second["limit"], second["offset"]) == (3, 2, 2)
    assert deployed.get("/api/releases?component=nothing")["items"] == []

    for url, words in [
        ("/api/releases/helix-settlement/9.9.9.9", "release 9.9.9.9 of helix-settlement"),
        ("/api/rfcs/CHG9999999", "RFC CHG9999999"),
        ("/api/defects/999999", "defect 999999"),
        ("/api/environments/Production", "environment Production"),
    ]:
        assert words in deployed.get(url, 404)["detail"]
    deployed.get("/api/defects/not-a-number", 422)
    deployed.get("/api/releases?limit=0", 422)
    deployed.get("/api/releases?limit=100000", 422)
    deployed.get("/api/findings?offset=-1", 422)
    deployed.get("/api/outbox?status=lost", 422)

    spec = deployed.get("/openapi.json")
    paths = spec["paths"]
    for path in (
        "/api/releases",
        "/api/releases/{component}/{version}",
        "/api/rfcs",
        "/api/rfcs/{number}",
        "/api/defects/{defect_id}",
        "/api/environments",
        "/api/environments/{name}",
        "/api/findings",
        "/api/outbox",
        "/api/outbox/dead",
        "/api/audit",
        "/metrics",
    ):
        assert path in paths, path
    detail = paths["/api/releases/{component}/{version}"]["get"]["responses"]
    assert detail["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReleaseDetail"
    }
    assert "404" in detail
    assert {"ReleaseDetail", "RfcDetail", "DefectDetail", "EnvironmentHistory"} <= set(
        spec["components"]["schemas"]
    )
    docs = deployed.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_rfcs_defects_moves_and_environments(deployed: Deployed) -> None:
    seeded = deployed.box.seeded
    rfcs = deployed.get("/api/rfcs")
    assert rfcs["total"] == 6 and [r["number"] for r in rfcs["items"]] == sorted(seeded.rfcs.values())
    assert deployed.get("/api/rfcs?state=review&limit=1")["total"] == 2
    rfc = deployed.get(f"/api/rfcs/{seeded.rfcs['helix-1100']}")
    assert rfc["state"] == "review" and rfc["environment"] == "SIT-B"
    assert [(r["component"], r["version"]) for r in rfc["releases"]] == [("helix-settlement", "1.1.0.0")]
    assert rfc["bridge_work_notes"] >= 1 and rfc["bridge_work_notes_seen"] >= 1
    assert deployed.get(f"/api/rfcs/{seeded.rfcs['dip-next']}")["releases"] == []

    defect_id = seeded.defects["helix-negative"]
    defect = deployed.get(f"/api/defects/{defect_id}")
    assert defect["state"] == "Ready for Retest"
    assert defect["releases"] == [
        {
            "component": "helix-settlement",
            "version": "1.1.0.0",
            "evidence": defect["releases"][0]["evidence"],
            "listed_as": "fixed",
        }
    ]
    assert [m["change"] for m in defect["moves"]] == ["state Fixed → Ready for Retest, comment added"]
    assert [(a["kind"], a["status"]) for a in defect["actions"]] == [("move_defect", "done")]
    outstanding = deployed.get(f"/api/defects/{seeded.defects['helix-slow-report']}")
    assert [r["listed_as"] for r in outstanding["releases"]] == ["outstanding"] and outstanding["moves"] == []
    listed = deployed.get("/api/defects?state=Ready%20for%20Retest")
    assert defect_id in [d["id"] for d in listed["items"]]

    # Environments: the version of each component now, and each one's history.
    environments = {e["name"]: e["components"] for e in deployed.get("/api/environments")}
    assert set(environments) == {"SIT Staging", "SIT-A", "SIT-B", "UIT"}
    assert environments["UIT"] == []
    (helix,) = environments["SIT-B"]
    assert (helix["component"], helix["version"], helix["rfc_number"]) == (
        "helix-settlement",
        "1.1.0.0",
        deployed.box.seeded.rfcs["helix-1100"],
    )
    history = deployed.get("/api/environments/SIT-B")
    (component,) = history["components"]
    assert [(d["version"], d["current"]) for d in component["deployments"]] == [
        ("1.1.0.0", True),
        ("1.0.0.0", False),
    ]
    assert component["deployments"][1]["deployed_to"] == component["deployments"][0]["deployed_from"]
    assert deployed.get("/api/environments/SIT-B?component=dip-platform")["components"] == []
    assert deployed.get("/api/environments/UIT") == {"name": "UIT", "components": []}
    assert deployed.get("/api/environments/SIT%20Migration") == history  # an alias of SIT-B


def test_findings_outbox_and_audit_filter_and_page(deployed: Deployed) -> None:
    everything = deployed.get("/api/findings?limit=500")
    assert everything["total"] == len(everything["items"]) > 0
    dip = deployed.get("/api/findings?subject=release:dip-platform")
    assert dip["items"] and all(f["subject"].startswith("release:dip-platform:") for f in dip["items"])
    assert deployed.get("/api/findings?subject=release:dip%25")["total"] == 0  # % is no wildcard
    points = deployed.get("/api/findings?code=control_point.4&severity=warning")
    assert points["items"] and {f["code"] for f in points["items"]} == {"control_point.4"}
    assert deployed.get("/api/findings?severity=nonsense")["total"] == 0

    # A finding that no longer holds is shown only when asked for.
    first = everything["items"][-1]
    with deployed.processor.store.transaction() as tx:
        tx.findings.resolve(first["subject"], codes=[first["code"]])
    remaining = deployed.get("/api/findings?limit=500")
    assert first["id"] not in [f["id"] for f in remaining["items"]]
    resolved = deployed.get("/api/findings?limit=500&include_resolved=true")
    assert [f["resolved_at"] is not None for f in resolved["items"] if f["id"] == first["id"]] == [True]

    # An action that failed for good is listed with its last error.
    now = datetime.now(UTC)
    with deployed.processor.store.transaction() as tx:
        tx.outbox.enqueue([MoveDefect(999, 1, "Fixed", "Ready for Retest", "c", "d")], cause="test", now=now)
        (row,) = tx.outbox.claim_due(Source.ADO, 10, "test", now=now, lease=timedelta(minutes=5))
        tx.outbox.complete(
            row.id, Completion.dead("400 the work item does not exist"), worker="test", now=now
        )
    dead = deployed.get("/api/outbox/dead")
    assert [(a["key"], a["last_error"]) for a in dead["items"]] == [
        ("move_defect:999:1:Ready for Retest", "400 the work item does not exist")
    ]
    assert deployed.get("/api/outbox?status=dead")["items"] == dead["items"]
    assert deployed.get("/api/outbox/counts")["dead"] == 1
    done = deployed.get("/api/outbox?status=done&target=servicenow&limit=1")
    assert done["total"] > 1 and len(done["items"]) == 1 and done["items"][0]["target"] == "servicenow"

    defect_id = deployed.box.seeded.defects["helix-negative"]
    trail = deployed.get(f"/api/audit?record=defect:{defect_id}")
    assert trail["total"] == 1
    key = trail["items"][0]["action_key"]
    assert deployed.get(f"/api/audit?action_key={key}")["items"] == trail["items"]
    assert deployed.get("/api/audit?limit=1")["total"] > 1
