"""Reference fields as an instance returns them: a sys_id as the value, the referenced record's name as
the display value, a link to it; dot-walked fields; names resolved on input only when asked."""

from __future__ import annotations

from typing import Any

import requests

ENVIRONMENTS = "u_test_environment"  # the table the `referenced` instance's u_environment points at


def _environment_id(instance: Any, name: str) -> str:
    rows = instance.sim.model.rows[ENVIRONMENTS].values()
    return next(r["sys_id"] for r in rows if r["name"] == name)


def _rfc(instance: Any, **fields: str) -> dict[str, str]:
    return dict(instance.sim.insert("change_request", {"short_description": "Deploy", **fields}))


def _read(instance: Any, sys_id: str, **params: str) -> dict[str, Any]:
    answer = requests.get(
        instance.api(f"/table/change_request/{sys_id}"), params=params, auth=instance.auth, timeout=5
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


def test_a_reference_renders_as_an_instance_does_under_each_display_setting(referenced: Any) -> None:
    sit_a = _environment_id(referenced, "SIT-A")
    rfc = _rfc(referenced, u_environment=sit_a, u_release="dip-platform 1.0.2.0")
    link = f"{referenced.url}/api/now/table/{ENVIRONMENTS}/{sit_a}"
    fields = "u_environment,u_release"

    plain = _read(referenced, rfc["sys_id"], sysparm_fields=fields)
    assert plain == {"u_environment": {"link": link, "value": sit_a}, "u_release": "dip-platform 1.0.2.0"}
    excluded = _read(referenced, rfc["sys_id"], sysparm_fields=fields, sysparm_exclude_reference_link="true")
    assert excluded["u_environment"] == sit_a
    shown = _read(referenced, rfc["sys_id"], sysparm_fields=fields, sysparm_display_value="true")
    assert shown["u_environment"] == {"display_value": "SIT-A", "link": link}
    everything = _read(referenced, rfc["sys_id"], sysparm_fields=fields, sysparm_display_value="all")
    assert everything == {
        "u_environment": {"display_value": "SIT-A", "value": sit_a, "link": link},
        "u_release": {"display_value": "dip-platform 1.0.2.0", "value": "dip-platform 1.0.2.0"},
    }
    # The link leads to the referenced record.
    target = requests.get(link, auth=referenced.auth, timeout=5).json()["result"]
    assert target["name"] == "SIT-A" and target["sys_id"] == sit_a


def test_an_empty_reference_and_one_to_a_missing_record(referenced: Any) -> None:
    empty = _rfc(referenced)
    assert _read(referenced, empty["sys_id"], sysparm_fields="u_environment")["u_environment"] == ""
    assert _read(referenced, empty["sys_id"], sysparm_fields="u_environment", sysparm_display_value="all")[
        "u_environment"
    ] == {"display_value": "", "value": ""}
    gone = "0" * 32
    dangling = _rfc(referenced, u_environment=gone)
    shown = _read(
        referenced,
        dangling["sys_id"],
        sysparm_fields="u_environment",
        sysparm_display_value="all",
        sysparm_exclude_reference_link="true",
    )
    assert shown["u_environment"] == {"display_value": gone, "value": gone}


def test_dot_walked_fields_read_the_referenced_record(referenced: Any) -> None:
    sit_b = _environment_id(referenced, "SIT-B")
    rfc = _rfc(referenced, u_environment=sit_b)
    fields = "number,u_environment.name,u_environment.sys_id,u_environment.nothing,u_release.name"
    walked = _read(referenced, rfc["sys_id"], sysparm_fields=fields)
    # Paths that lead nowhere are left out, as invalid fields are.
    assert walked == {
        "number": rfc["number"],
        "u_environment.name": "SIT-B",
        "u_environment.sys_id": sit_b,
    }
    everything = _read(
        referenced, rfc["sys_id"], sysparm_fields="u_environment.name", sysparm_display_value="all"
    )
    assert everything == {"u_environment.name": {"display_value": "SIT-B", "value": "SIT-B"}}
    empty = _rfc(referenced)
    assert _read(referenced, empty["sys_id"], sysparm_fields="u_environment.name") == {
        "u_environment.name": ""
    }


def test_a_name_written_to_a_reference_is_resolved_only_with_input_display_value(referenced: Any) -> None:
    rfc = _rfc(referenced)
    url = referenced.api(f"/table/change_request/{rfc['sys_id']}")
    as_given = requests.patch(url, json={"u_environment": "SIT-B"}, auth=referenced.auth, timeout=5)
    assert as_given.json()["result"]["u_environment"]["value"] == "SIT-B"  # stored as given
    resolved = requests.patch(
        url,
        json={"u_environment": "SIT-A"},
        params={"sysparm_input_display_value": "true"},
        auth=referenced.auth,
        timeout=5,
    )
    assert resolved.json()["result"]["u_environment"]["value"] == _environment_id(referenced, "SIT-A")
    seeded = referenced.sim.insert("change_request", {"u_environment": "SIT-B"}, input_display_value=True)
    assert seeded["u_environment"] == _environment_id(referenced, "SIT-B")


def test_a_change_event_carries_the_sys_id_of_a_reference(referenced: Any, receiver: Any) -> None:
    sit_a = _environment_id(referenced, "SIT-A")
    _rfc(referenced, u_environment=sit_a)
    referenced.sim.webhooks.flush()
    (event,) = receiver.bodies()
    assert event["record"]["u_environment"] == sit_a


def test_pysnow_reads_display_values_with_all(referenced: Any) -> None:
    sit_a = _environment_id(referenced, "SIT-A")
    rfc = _rfc(referenced, u_environment=sit_a)
    resource = referenced.client().resource(api_path="/table/change_request")
    resource.parameters.display_value = "all"
    (row,) = resource.get(query={"sys_id": rfc["sys_id"]}, fields=["u_environment"]).all()
    assert row["u_environment"]["display_value"] == "SIT-A"
    assert row["u_environment"]["value"] == sit_a
