"""ADO simulator: saved state, the process model file, and the in-process seeding API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.mappings import MappingError
from connectors.ado.simulator import AdoSimulator, load_process
from connectors.ado.simulator.errors import AdoError
from connectors.simulation import RunningServer


def test_save_and_load_round_trip_through_a_file(ado: Any, tmp_path: Path, receiver: Any) -> None:
    item = ado.defect()
    ado.sim.update_work_item(item["id"], {"System.State": "Fixed"})
    ado.sim.add_comment(item["id"], "looks fixed")
    ado.sim.add_subscription("workitem.updated", receiver.url)
    path = tmp_path / "ado.json"
    ado.sim.save_to(path)
    json.loads(path.read_text(encoding="utf-8"))

    other = AdoSimulator(pat="x")
    other.load_from(path)
    assert other.save() == ado.sim.save()
    assert other.get_work_item(item["id"])["fields"]["System.State"] == "Fixed"
    assert other.create_work_item({"System.Title": "next"})["id"] == item["id"] + 1
    other.close()


def test_state_is_served_and_replaced_under_sim_state(ado: Any) -> None:
    ado.defect()
    saved = requests.get(f"{ado.url}/_sim/state").json()
    ado.defect("second")
    assert requests.put(f"{ado.url}/_sim/state", json=saved).json() == {"loaded": True}
    assert ado.sim.model.ids() == [1]
    refused = requests.put(f"{ado.url}/_sim/state", json={"version": 99})
    assert refused.status_code == 400


def test_the_process_model_file_is_versioned_and_validated(tmp_path: Path) -> None:
    process = load_process()
    assert process.version == 1
    defect = process.work_item_type("Defect")
    assert defect is not None
    assert {s.name for s in defect.states} >= {"New", "Fixed", "Ready for Retest", "In Retest", "Closed"}
    (tmp_path / "ado_process.yaml").write_text(
        "version: 1\nprocess: p\nfields: []\nwork_item_types:\n  - name: Defect\n    reference_name: C.D\n"
        "    initial_state: Nope\n    states: []\n    fields: []\n",
        encoding="utf-8",
    )
    with pytest.raises(MappingError, match=r"ado_process\.yaml:\d+: work_item_types\.0"):
        load_process(tmp_path)


def test_seeding_behaves_like_rest_including_rules(ado: Any) -> None:
    item = ado.sim.create_work_item(
        {"System.Title": "seeded", "Microsoft.VSTS.Common.Severity": "1 - Critical"}
    )
    assert item["fields"]["System.CreatedBy"]["uniqueName"] == "release.bridge@mhhs.example"
    assert item["relations"] == [] and "_links" in item
    changed = ado.sim.update_work_item(item["id"], {"System.State": "Fixed", "System.Tags": "sit-a"})
    assert changed["rev"] == 2 and changed["fields"]["System.ChangedBy"]["displayName"] == "Tester"
    cleared = ado.sim.update_work_item(item["id"], {"System.Tags": None})
    assert "System.Tags" not in cleared["fields"]
    with pytest.raises(AdoError, match="TF401320"):
        ado.sim.update_work_item(item["id"], {"System.State": "Resolved"})
    with pytest.raises(AdoError, match="TF401232"):
        ado.sim.get_work_item(999)


def test_a_custom_process_model_can_be_passed_in() -> None:
    process = load_process()
    sim = AdoSimulator(pat="x", project="Other", process=process)
    item = sim.create_work_item({"System.Title": "t"})
    assert item["fields"]["System.TeamProject"] == "Other"
    sim.close()


def test_data_seeded_before_the_server_starts_shows_the_servers_address() -> None:
    sim = AdoSimulator(pat="x")
    item = sim.create_work_item({"System.Title": "seeded early"})
    with RunningServer(sim.app) as server:
        reply = requests.get(
            f"{server.url}/mhhs/Programme/_apis/wit/workitems/{item['id']}?api-version=7.1", auth=("", "x")
        ).json()
    assert reply["url"].startswith(f"{server.url}/mhhs/")
    assert reply["fields"]["System.CreatedBy"]["url"].startswith(f"{server.url}/mhhs/_apis/Identities/")
    sim.close()
