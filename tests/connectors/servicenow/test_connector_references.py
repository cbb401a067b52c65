"""Mapped fields that are references: the connector reads their display values (or a dot-walked field)
through pysnow, so the environment is the name people see, never a sys_id; a change event, which carries
sys_ids, is only a hint and the record is read again; the field check says which fields are references."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.domain.events import ChangeUpdated, RecordRef, Source
from connectors.servicenow.connector import ServiceNowConnector

pytest_plugins = ["tests.servicenow_connector_fixtures"]

ENVIRONMENTS = "u_test_environment"  # the table the `referenced` instance's u_environment points at
BY_REFERENCE = {"environment": "u_environment", "release": "u_release"}
DOT_WALKED = {"environment": "u_environment.name", "release": "u_release"}
LATER = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _environment_id(instance: Any, name: str) -> str:
    return next(r["sys_id"] for r in instance.sim.model.rows[ENVIRONMENTS].values() if r["name"] == name)


def _changes(connector: ServiceNowConnector) -> list[ChangeUpdated]:
    page = connector.poll(None, now=LATER)
    return [e for e in page.events if isinstance(e, ChangeUpdated)]


@pytest.mark.parametrize("fields", [BY_REFERENCE, DOT_WALKED], ids=["display-value", "dot-walked"])
def test_polls_and_fetches_map_the_environment_from_the_referenced_record(
    referenced: Any, make_snow_connector: Callable[..., ServiceNowConnector], fields: dict[str, str]
) -> None:
    sit_b = _environment_id(referenced, "SIT-B")
    created = referenced.sim.insert(
        "change_request",
        {
            "short_description": "Deploy helix-settlement 1.1.0.0",
            "u_environment": sit_b,
            "u_release": "1.1.0.0",
        },
    )
    empty = referenced.sim.insert("change_request", {"short_description": "No environment yet"})
    connector = make_snow_connector(referenced.url, fields=fields)
    polled = {c.sys_id: c for c in _changes(connector)}
    assert polled[created["sys_id"]].environment == "SIT-B"
    assert polled[created["sys_id"]].field("environment") == "SIT-B"
    assert polled[created["sys_id"]].field("release") == "1.1.0.0"
    assert polled[empty["sys_id"]].environment is None
    fetched = connector.fetch(RecordRef(Source.SERVICENOW, "change", created["sys_id"]))
    assert isinstance(fetched, ChangeUpdated) and fetched.environment == "SIT-B"

    # The environment record renamed: the next read shows the new name, as the form would.
    referenced.sim.update(ENVIRONMENTS, sit_b, {"name": "SIT-B2"})
    again = connector.fetch(RecordRef(Source.SERVICENOW, "change", created["sys_id"]))
    assert isinstance(again, ChangeUpdated) and again.environment == "SIT-B2"


@pytest.mark.parametrize("fields", [BY_REFERENCE, DOT_WALKED], ids=["display-value", "dot-walked"])
def test_a_change_event_for_a_reference_is_a_hint_and_the_record_is_read(
    referenced: Any,
    receiver: Any,
    make_snow_connector: Callable[..., ServiceNowConnector],
    fields: dict[str, str],
) -> None:
    sit_a = _environment_id(referenced, "SIT-A")
    created = referenced.sim.insert("change_request", {"short_description": "Deploy", "u_environment": sit_a})
    referenced.sim.webhooks.flush()
    (event,) = receiver.received
    connector = make_snow_connector(referenced.url, fields=fields)
    delivery = connector.parse_webhook(event.headers, event.body)
    # The event carries the sys_id: no event is built from it, only the ref to read.
    assert delivery.events == ()
    assert delivery.refs == (RecordRef(Source.SERVICENOW, "change", created["sys_id"], revision=0),)
    fetched = connector.fetch(delivery.refs[0])
    assert isinstance(fetched, ChangeUpdated) and fetched.environment == "SIT-A"


def test_an_event_whose_mapped_fields_are_text_still_carries_the_event(
    referenced: Any, receiver: Any, make_snow_connector: Callable[..., ServiceNowConnector]
) -> None:
    referenced.sim.insert("change_request", {"short_description": "Deploy", "u_release": "1.0.2.0"})
    referenced.sim.webhooks.flush()
    (event,) = receiver.received
    connector = make_snow_connector(referenced.url, fields={"release": "u_release"})
    (change,) = connector.parse_webhook(event.headers, event.body).events
    assert isinstance(change, ChangeUpdated) and change.field("release") == "1.0.2.0"


def test_the_field_check_names_the_mapped_references(
    referenced: Any, make_snow_connector: Callable[..., ServiceNowConnector]
) -> None:
    connector = make_snow_connector(referenced.url, fields=BY_REFERENCE)
    unknown = connector.check_fields()
    assert not unknown.sampled
    assert unknown.describe_references() == "no mapped field is a reference (no record to tell from)"
    # An empty reference has no link: the records read tell it once one of them holds one.
    referenced.sim.insert("change_request", {"short_description": "Empty"})
    assert connector.check_fields().references == ()
    referenced.sim.insert("change_request", {"u_environment": _environment_id(referenced, "SIT-A")})
    check = connector.check_fields()
    assert check.references == ("u_environment",)
    assert check.describe_references() == "u_environment: references, read by their display values"
    walked = make_snow_connector(referenced.url, fields=DOT_WALKED).check_fields()
    assert walked.confirmed and walked.references == ()
    assert walked.describe_references() == "u_environment.name: dot-walked through a reference"
    text = make_snow_connector(referenced.url, fields={"release": "u_release"}).check_fields()
    assert text.describe_references() == "no mapped field is a reference in the records read"
