"""ADO simulator: the SDK's discovery handshake, authentication, api-versions, case-insensitive routes."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.devops.connection import Connection
from azure.devops.exceptions import AzureDevOpsServiceError
from msrest.authentication import BasicAuthentication

from connectors.ado.simulator import AdoSimulator
from connectors.simulation import RunningServer

SDK_LOCATIONS = {
    "e81700f7-3be2-46de-8624-2eb35882fcaa",  # ResourceAreas
    "72c7ddf8-2cdc-4f60-90cd-ab71c14a399b",  # workItems get/update/list
    "62d3d110-0047-428c-ad3c-4fe872c91c74",  # workItems create
    "908509b6-4248-4475-a1cd-829139ba419f",  # workItemsBatch
    "1a9c53f7-f243-4447-b110-35ef023636e4",  # wiql
    "608aac0a-32e1-4493-a863-b9cf4566d257",  # comments
    "a00c85a5-80fa-4565-99c3-bcd2181434bb",  # revisions
    "6570bf97-d02c-4a91-8d93-3abe9895b1a9",  # updates
    "7c8d7a76-4a09-43e8-b5df-bd792f4ac6aa",  # workItemTypes
    "7c9d7a76-4a09-43e8-b5df-bd792f4ac6aa",  # workItemTypeStates
    "b51fd764-e5c2-4b9b-aaf7-3395cf4bdd94",  # fields
}
V71 = {"Accept": "application/json;api-version=7.1-preview.3"}


def test_options_lists_every_location_the_sdk_needs(ado: Any) -> None:
    reply = ado.session().options(f"{ado.org_url}/_apis", headers={"Accept": "application/json"})
    assert reply.status_code == 200
    body = reply.json()
    assert body["count"] == len(body["value"])
    assert {loc["id"] for loc in body["value"]} >= SDK_LOCATIONS
    for loc in body["value"]:
        assert set(loc) == {
            "id",
            "area",
            "resourceName",
            "routeTemplate",
            "resourceVersion",
            "minVersion",
            "maxVersion",
            "releasedVersion",
        }
        assert float(loc["minVersion"]) <= 7.1 <= float(loc["maxVersion"])


def test_resource_areas_are_empty_so_the_sdk_stays_on_the_organisation_url(ado: Any) -> None:
    reply = ado.session().get(
        f"{ado.org_url}/_apis/ResourceAreas", headers={"Accept": "application/json;api-version=7.1-preview.1"}
    )
    assert reply.json() == {"count": 0, "value": []}


def test_the_sdk_handshake_is_options_then_resource_areas_then_the_call(fresh_ado: Any) -> None:
    ado = fresh_ado
    item = ado.defect()
    client = ado.connection().clients_v7_1.get_work_item_tracking_client()
    client.get_work_item(item["id"], ado.project)
    client.get_work_item(item["id"], ado.project)
    assert ado.sim.stats.snapshot()["requests"] == {
        "OPTIONS /{org}/_apis": 1,
        "GET /{org}/_apis/ResourceAreas": 1,
        "GET /{org}/{project}/_apis/wit/workItems/{id}": 2,
    }


@pytest.mark.parametrize("auth", [None, ("", "wrong-pat"), ("someone", "")])
def test_missing_or_wrong_credentials_get_401_with_a_wrapped_exception(ado: Any, auth: Any) -> None:
    reply = requests.get(f"{ado.org_url}/{ado.project}/_apis/wit/workitems/1", headers=V71, auth=auth)
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"].startswith("Basic")
    body = reply.json()
    assert body["typeKey"] == "UnauthorizedRequestException"
    assert body["message"].startswith("TF400813")
    assert ("anonymous access" in body["message"]) is (auth is None), body["message"]


def test_any_user_name_is_accepted_with_the_pat(ado: Any) -> None:
    item = ado.defect()
    reply = requests.get(
        f"{ado.org_url}/{ado.project}/_apis/wit/workitems/{item['id']}", headers=V71, auth=("anyone", ado.pat)
    )
    assert reply.status_code == 200


def test_the_sdk_with_a_wrong_pat_raises_on_discovery(fresh_ado: Any) -> None:
    ado = fresh_ado
    with pytest.raises(AzureDevOpsServiceError, match="TF400813"):
        ado.connection(pat="wrong").clients_v7_1.get_work_item_tracking_client().get_work_item(1, ado.project)


def test_a_missing_api_version_is_400_as_ado_answers(ado: Any) -> None:
    reply = ado.session().get(f"{ado.org_url}/{ado.project}/_apis/wit/workitems/1")
    assert reply.status_code == 400
    body = reply.json()
    assert body["typeKey"] == "VssVersionNotSpecifiedException"
    assert 'No api-version was supplied for the "GET" request' in body["message"]


def test_api_version_is_read_from_the_query_string_too(ado: Any) -> None:
    item = ado.defect()
    reply = ado.session().get(f"{ado.org_url}/{ado.project}/_apis/wit/workitems/{item['id']}?api-version=7.1")
    assert reply.status_code == 200
    assert reply.json()["id"] == item["id"]


def test_a_version_above_the_server_is_refused(ado: Any) -> None:
    reply = ado.session().get(f"{ado.org_url}/{ado.project}/_apis/wit/workitems/1?api-version=7.2")
    assert reply.status_code == 400
    assert reply.json()["typeKey"] == "VssVersionOutOfRangeException"


def test_a_preview_resource_needs_the_preview_flag(ado: Any) -> None:
    item = ado.defect()
    url = f"{ado.org_url}/{ado.project}/_apis/wit/workItems/{item['id']}/comments"
    refused = ado.session().get(url, params={"api-version": "7.1"})
    assert refused.status_code == 400
    assert refused.json()["typeKey"] == "VssInvalidPreviewVersionException"
    assert ado.session().get(url, params={"api-version": "7.1-preview.4"}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/MHHS/programme/_apis/WIT/WORKITEMS/{id}",
        "/mhhs/PROGRAMME/_apis/wit/workItems/{id}",
        "/mhhs/_apis/wit/WorkItems/{id}",
        "/mhhs/{project_id}/_apis/wit/workitems/{id}",
    ],
)
def test_routes_and_project_names_match_without_case_and_by_project_id(ado: Any, path: str) -> None:
    item = ado.defect()
    url = ado.url + path.format(id=item["id"], project_id=ado.sim.model.project_id)
    reply = ado.session().get(url, headers=V71)
    assert reply.status_code == 200, reply.text
    assert reply.json()["id"] == item["id"]


def test_an_unknown_project_is_404_tf200016(ado: Any) -> None:
    reply = ado.session().get(f"{ado.org_url}/Nowhere/_apis/wit/workitems/1", headers=V71)
    assert reply.status_code == 404
    assert reply.json()["message"].startswith("TF200016: The following project does not exist: Nowhere.")


def test_project_names_with_spaces_are_url_encoded_by_the_sdk() -> None:
    sim = AdoSimulator(pat="p", project="Proj A")
    with RunningServer(sim.app) as server:
        sim.base_url = server.url
        client = Connection(
            base_url=f"{server.url}/mhhs", creds=BasicAuthentication("", "p")
        ).clients_v7_1.get_work_item_tracking_client()
        created = sim.create_work_item({"System.Title": "Spaced"})
        assert client.get_work_item(created["id"], "Proj A").fields["System.TeamProject"] == "Proj A"
        assert "GET /{org}/{project}/_apis/wit/workItems/{id}" in sim.stats.snapshot()["requests"]
    sim.close()


def test_the_answer_names_its_api_version_in_the_content_type(ado: Any) -> None:
    item = ado.defect()
    reply = ado.session().get(f"{ado.org_url}/{ado.project}/_apis/wit/workitems/{item['id']}", headers=V71)
    assert reply.headers["content-type"] == "application/json; charset=utf-8; api-version=7.1-preview.3"
