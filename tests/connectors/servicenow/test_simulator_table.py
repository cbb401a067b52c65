"""Table API contract through pysnow and plain requests: records, updates, journal, display values, errors."""

from __future__ import annotations

import re
from typing import Any

import pysnow
import pytest
import requests

from connectors.servicenow.simulator import ServiceNowSimulator
from connectors.simulation import RunningServer

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
GROUP = "287ebd7da9fe198100f92cc8d1d2154e"


def _create(instance: Any, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = instance.changes().create(payload=fields).one()
    return record


def test_insert_returns_the_full_record_with_every_value_a_string(instance: Any) -> None:
    record = _create(
        instance,
        short_description="Deploy dip-platform 1.0.2.0",
        type="emergency",
        start_date="2024-05-02 08:00:00",
        cab_date="2024-05-01",
        u_environment="SIT-A",
    )
    assert re.fullmatch(r"[0-9a-f]{32}", record["sys_id"])
    assert record["number"] == "CHG0000001"
    assert (record["state"], record["type"], record["approval"]) == ("-5", "emergency", "not requested")
    assert (record["sys_mod_count"], record["sys_created_by"], record["sys_updated_by"]) == (
        "0",
        instance.user,
        instance.user,
    )
    assert record["sys_created_on"] == record["sys_updated_on"] == "2024-05-01 10:00:00"
    assert record["u_environment"] == "SIT-A" and record["u_release"] == ""
    assert record["sys_class_name"] == "change_request"
    assert all(isinstance(v, str) for v in record.values())
    assert DATETIME.match(record["sys_created_on"])


def test_numbers_follow_on_and_the_first_number_is_configurable() -> None:
    sim = ServiceNowSimulator(user="u", password="p", first_number=30001)
    first, second = (sim.insert("change_request", {"short_description": s}) for s in "ab")
    assert (first["number"], second["number"]) == ("CHG0030001", "CHG0030002")
    sim.close()


def test_non_string_values_are_stored_as_their_text(instance: Any) -> None:
    record = _create(instance, state=-4, short_description=None, u_release=1.0, u_environment=True)
    assert (record["state"], record["short_description"]) == ("-4", "")
    assert (record["u_release"], record["u_environment"]) == ("1", "true")


def test_unknown_and_system_fields_written_are_ignored(instance: Any) -> None:
    record = _create(
        instance, short_description="x", u_not_a_field="y", sys_mod_count="9", sys_created_by="mallory"
    )
    assert "u_not_a_field" not in record
    assert (record["sys_mod_count"], record["sys_created_by"]) == ("0", instance.user)


def test_a_given_sys_id_is_kept_on_insert(instance: Any) -> None:
    wanted = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    assert _create(instance, sys_id=wanted)["sys_id"] == wanted
    assert _create(instance, sys_id=wanted)["sys_id"] != wanted, "a taken sys_id is not reused"


def test_post_answers_201_with_the_location_of_the_record(instance: Any) -> None:
    reply = requests.post(
        instance.api("/table/change_request"), json={"short_description": "x"}, auth=instance.auth
    )
    assert reply.status_code == 201
    assert reply.headers["Content-Type"].startswith("application/json")
    sys_id = reply.json()["result"]["sys_id"]
    assert reply.headers["Location"] == f"{instance.url}/api/now/table/change_request/{sys_id}"


def test_pysnow_update_does_get_then_put_and_moves_mod_count_and_updated_on(instance: Any) -> None:
    created = _create(instance, short_description="x")
    instance.sim.stats.reset()
    instance.clock.advance(65)
    updated = instance.changes().update(query={"number": created["number"]}, payload={"state": "-4"}).one()
    assert (updated["state"], updated["sys_mod_count"]) == ("-4", "1")
    assert updated["sys_updated_on"] == "2024-05-01 10:01:05"
    assert updated["sys_created_on"] == created["sys_created_on"]
    requests_made = instance.sim.stats.snapshot()["requests"]
    assert requests_made == {
        "GET /api/now/table/{table}": 1,
        "PUT /api/now/table/{table}/{sys_id}": 1,
    }


def test_every_update_moves_updated_on_even_within_the_same_second(instance: Any) -> None:
    created = _create(instance)
    stamps = [created["sys_updated_on"]]
    for n in range(3):
        reply = requests.patch(
            instance.api(f"/table/change_request/{created['sys_id']}"),
            json={"short_description": f"v{n}"},
            auth=instance.auth,
        )
        assert reply.status_code == 200
        stamps.append(reply.json()["result"]["sys_updated_on"])
        assert reply.json()["result"]["sys_mod_count"] == str(n + 1)
    assert stamps == sorted(set(stamps)), "strictly increasing"


def test_an_update_that_changes_nothing_writes_nothing(instance: Any) -> None:
    created = _create(instance, short_description="same")
    reply = requests.patch(
        instance.api(f"/table/change_request/{created['sys_id']}"),
        json={"short_description": "same", "u_not_a_field": "x"},
        auth=instance.auth,
    )
    assert reply.json()["result"]["sys_mod_count"] == "0"


def test_work_notes_go_to_the_journal_and_read_back_empty(instance: Any) -> None:
    created = _create(instance, short_description="x", work_notes="first note")
    assert created["work_notes"] == ""
    assert created["sys_mod_count"] == "0", "a note on insert is part of the insert"
    instance.clock.advance(1)
    updated = instance.changes().update(query={"sys_id": created["sys_id"]}, payload={"comments": "hello"})
    assert updated["comments"] == "" and updated["sys_mod_count"] == "1"
    notes = instance.sim.journal(created["sys_id"])
    assert [(n["element"], n["value"], n["name"]) for n in notes] == [
        ("work_notes", "first note", "change_request"),
        ("comments", "hello", "change_request"),
    ]
    assert notes[1]["sys_created_on"] == "2024-05-01 10:00:01"
    assert notes[1]["sys_created_by"] == instance.user
    journal = instance.client().resource(api_path="/table/sys_journal_field")
    rows = journal.get(query=f"element=work_notes^element_id={created['sys_id']}").all()
    assert [r["value"] for r in rows] == ["first note"]


def test_a_note_alone_is_an_update(instance: Any) -> None:
    created = _create(instance)
    reply = requests.patch(
        instance.api(f"/table/change_request/{created['sys_id']}"),
        json={"work_notes": "deployed to SIT-A"},
        auth=instance.auth,
    )
    assert reply.json()["result"]["sys_mod_count"] == "1"


def test_display_values_true_and_all(instance: Any) -> None:
    created = _create(instance, state="-1", approval="approved", assignment_group=GROUP, work_notes="n1")
    url = instance.api(f"/table/change_request/{created['sys_id']}")
    shown = requests.get(url, params={"sysparm_display_value": "true"}, auth=instance.auth).json()["result"]
    assert (shown["state"], shown["approval"], shown["type"]) == ("Implement", "Approved", "Normal")
    assert shown["work_notes"] == f"2024-05-01 10:00:00 - {instance.user} (Work notes)\nn1\n\n"
    assert shown["assignment_group"] == {
        "display_value": GROUP,
        "link": f"{instance.url}/api/now/table/sys_user_group/{GROUP}",
    }
    both = requests.get(url, params={"sysparm_display_value": "all"}, auth=instance.auth).json()["result"]
    assert both["state"] == {"display_value": "Implement", "value": "-1"}
    assert both["close_code"] == {"display_value": "", "value": ""}
    assert both["work_notes"]["value"] == ""
    assert both["assignment_group"]["value"] == GROUP
    plain = requests.get(url, params={"sysparm_exclude_reference_link": "true"}, auth=instance.auth).json()[
        "result"
    ]
    assert plain["assignment_group"] == GROUP
    linked = requests.get(url, auth=instance.auth).json()["result"]
    assert linked["assignment_group"] == {
        "link": f"{instance.url}/api/now/table/sys_user_group/{GROUP}",
        "value": GROUP,
    }


@pytest.mark.parametrize("spelling", ["True", "true", "False", "false", ""])
def test_boolean_parameters_take_any_spelling_and_empty_values(instance: Any, spelling: str) -> None:
    _create(instance, assignment_group=GROUP)
    reply = requests.get(
        instance.api("/table/change_request"),
        params={"sysparm_exclude_reference_link": spelling, "sysparm_view": "", "sysparm_fields": ""},
        auth=instance.auth,
    )
    assert reply.status_code == 200
    group = reply.json()["result"][0]["assignment_group"]
    assert (group == GROUP) is (spelling.lower() == "true")


def test_display_value_all_through_pysnow(instance: Any) -> None:
    _create(instance, state="0")
    record = instance.changes().get(query="state=0", display_value="all").one()
    assert record["state"] == {"display_value": "Review", "value": "0"}


def test_sysparm_fields_picks_fields_and_ignores_invalid_ones(instance: Any) -> None:
    _create(instance, short_description="x")
    records = instance.changes().get(fields=["number", "state", "no_such_field"]).all()
    assert records == [{"number": "CHG0000001", "state": "-5"}]


def test_delete_through_pysnow_and_then_not_found(instance: Any) -> None:
    created = _create(instance)
    assert instance.changes().delete(query={"sys_id": created["sys_id"]}) == {"status": "record deleted"}
    assert instance.sim.get("change_request", created["sys_id"]) is None
    reply = requests.delete(instance.api(f"/table/change_request/{created['sys_id']}"), auth=instance.auth)
    assert reply.status_code == 404


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_missing_record_is_404_with_the_failure_body(instance: Any, method: str, snow_fixture: Any) -> None:
    reply = requests.request(
        method, instance.api("/table/change_request/" + "0" * 32), json={"state": "3"}, auth=instance.auth
    )
    assert reply.status_code == 404
    assert reply.json() == snow_fixture("error_404_no_record.json")


def test_pysnow_raises_http_error_on_404_and_no_results_on_an_empty_query(instance: Any) -> None:
    single = instance.client().resource(api_path="/table/change_request/" + "0" * 32)
    with pytest.raises(requests.exceptions.HTTPError):
        single.get().one()
    with pytest.raises(pysnow.exceptions.NoResults):
        instance.changes().update(query={"sys_id": "0" * 32}, payload={"state": "3"})


def test_an_invalid_table_is_400(instance: Any, snow_fixture: Any) -> None:
    reply = requests.get(instance.api("/table/change_requests"), auth=instance.auth)
    assert reply.status_code == 400
    assert reply.json() == snow_fixture("error_400_invalid_table.json")
    with pytest.raises(requests.exceptions.HTTPError):
        instance.client().resource(api_path="/table/change_requests").get().all()


def test_an_unknown_api_path_is_400(instance: Any) -> None:
    reply = requests.get(instance.api("/nothing/here"), auth=instance.auth)
    assert reply.status_code == 400
    assert reply.json()["error"]["message"] == "Requested URI does not represent any resource"


@pytest.mark.parametrize("auth", [None, ("bridge.integration", "wrong"), ("nobody", "s3cret-pw")])
def test_missing_or_wrong_credentials_are_401(
    instance: Any, auth: tuple[str, str] | None, snow_fixture: Any
) -> None:
    reply = requests.get(instance.api("/table/change_request"), auth=auth)
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == 'BASIC realm="Service-now"'
    assert reply.json() == snow_fixture("error_401_not_authenticated.json")


def test_pysnow_with_a_wrong_password_fails_with_http_error(instance: Any) -> None:
    with pytest.raises(requests.exceptions.HTTPError) as raised:
        instance.client(password="wrong").resource(api_path="/table/change_request").get().all()
    assert raised.value.response.status_code == 401


def test_a_body_that_is_not_json_is_400(instance: Any) -> None:
    reply = requests.post(
        instance.api("/table/change_request"),
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        auth=instance.auth,
    )
    assert reply.status_code == 400
    assert reply.json()["status"] == "failure"


def test_versioned_paths_v1_answers_404_for_an_empty_result_v2_an_empty_list(instance: Any) -> None:
    v1 = requests.get(instance.api("/v1/table/change_request"), auth=instance.auth)
    v2 = requests.get(instance.api("/v2/table/change_request"), auth=instance.auth)
    assert v1.status_code == 404 and v1.json()["error"]["message"] == "No Record found"
    assert (v2.status_code, v2.json()) == (200, {"result": []})


def test_no_response_body_header_suppresses_the_body(instance: Any) -> None:
    reply = requests.post(
        instance.api("/table/change_request"),
        json={"short_description": "x"},
        headers={"X-no-response-body": "true"},
        auth=instance.auth,
    )
    assert (reply.status_code, reply.content) == (201, b"")


def test_seeding_acts_like_rest(instance: Any) -> None:
    seeded = instance.sim.insert("change_request", {"short_description": "seeded", "work_notes": "n"})
    fetched = instance.changes().get(query={"sys_id": seeded["sys_id"]}).one()
    assert fetched == seeded | {"assignment_group": ""}
    instance.clock.advance(2)
    moved = instance.sim.update("change_request", seeded["sys_id"], {"state": "-4"}, as_user="cab.manager")
    assert (moved["sys_mod_count"], moved["sys_updated_by"]) == ("1", "cab.manager")
    assert instance.sim.get("change_request", seeded["sys_id"]) == moved
    assert [n["value"] for n in instance.sim.journal(seeded["sys_id"])] == ["n"]
    with pytest.raises(KeyError):
        instance.sim.update("change_request", "0" * 32, {"state": "3"})
    with pytest.raises(ValueError, match="Invalid table"):
        instance.sim.insert("incident", {})


def test_state_saves_and_loads_through_a_file_and_the_control_route(instance: Any, tmp_path: Any) -> None:
    created = instance.sim.insert("change_request", {"short_description": "keep", "work_notes": "n"})
    path = tmp_path / "snow.json"
    instance.sim.save_to(path)
    other = ServiceNowSimulator(user="u", password="p", extra_fields=("u_environment", "u_release"))
    other.load_from(path)
    assert other.get("change_request", created["sys_id"]) == created
    assert other.insert("change_request", {})["number"] == "CHG0000002"
    assert other.journal(created["sys_id"])[0]["value"] == "n"
    other.close()
    state = requests.get(f"{instance.url}/_sim/state").json()
    assert requests.put(f"{instance.url}/_sim/state", json=state | {"format": 99}).status_code == 400
    assert requests.put(f"{instance.url}/_sim/state", json=state).json() == {"loaded": True}


def test_a_running_instance_serves_several_clients_at_once(instance: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def create(n: int) -> str:
        return str(_create(instance, short_description=f"c{n}")["number"])

    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(create, range(24)))
    assert sorted(numbers) == [f"CHG{n:07d}" for n in range(1, 25)]


def test_an_instance_can_serve_without_a_clock() -> None:
    sim = ServiceNowSimulator(user="u", password="p")
    with RunningServer(sim.app) as server:
        client = pysnow.Client(host=f"127.0.0.1:{server.port}", user="u", password="p", use_ssl=False)
        record = client.resource(api_path="/table/change_request").create(payload={}).one()
    assert DATETIME.match(record["sys_created_on"])
    sim.close()


def _documented_record(instance: Any) -> str:
    """The record the fixtures change_request_*.json show, made through the REST API."""
    created = _create(
        instance,
        sys_id="a1b2c3d4e5f60718293a4b5c6d7e8f90",
        short_description="Deploy dip-platform 1.0.2.0",
        type="emergency",
        state="-1",
        approval="approved",
        correlation_id="gitlab:42:dip-platform/1.0.2.0",
        assignment_group=GROUP,
        start_date="2024-05-02 08:00:00",
        end_date="2024-05-02 10:00:00",
        cab_date="2024-05-01",
        u_environment="SIT-A",
        work_notes="Raised from release note dip-platform/1.0.2.0",
    )
    instance.clock.advance(90)
    requests.patch(
        instance.api(f"/table/change_request/{created['sys_id']}"),
        json={"close_code": "successful_issues", "comments": "Deployed with one known issue"},
        auth=instance.auth,
    )
    return str(created["sys_id"])


@pytest.mark.parametrize(
    ("display", "fixture"),
    [("false", "change_request_values.json"), ("all", "change_request_display_all.json")],
)
def test_a_record_reads_back_as_documented_field_by_field(
    instance: Any, snow_fixture: Any, display: str, fixture: str
) -> None:
    sys_id = _documented_record(instance)
    reply = requests.get(
        instance.api(f"/table/change_request/{sys_id}"),
        params={"sysparm_display_value": display, "sysparm_exclude_reference_link": "true"},
        auth=instance.auth,
    )
    expected = snow_fixture(fixture)["result"]
    got = reply.json()["result"]
    got.pop("u_release")  # this instance has one more u_ field than the documented one
    assert list(got) == list(expected)
    for name, value in expected.items():
        assert got[name] == value, name
