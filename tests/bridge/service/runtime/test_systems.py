"""The systems a store belongs to: recorded at the first start, refused when others are configured, and
changed on purpose by a repoint. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.config import Settings
from bridge.domain.events import Source
from bridge.service.runtime.doctor import CheckStatus, systems_check
from bridge.service.runtime.systems import (
    OtherSystemsError,
    check_systems,
    configured_systems,
    differences,
    meaning,
    repoint,
)
from bridge.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _settings(**changes: Any) -> Settings:
    data: dict[str, Any] = {
        "gitlab": {
            "url": "https://gitlab.example.com",
            "projects": [{"path": "mhhs/dip-platform", "component": "dip-platform"}],
        },
        "servicenow": {"url": "https://acme.service-now.com"},
        "ado": {"organization_url": "https://dev.azure.com/mhhs", "project": "Programme"},
    }
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if value is None:
            data.pop(section)
        else:
            data[section] = {**data[section], name: value}
    return Settings(**data)


def test_the_first_start_records_the_configured_systems(store: Store) -> None:
    check_systems(store, _settings(), now=T0)
    with store.transaction(readonly=True) as tx:
        recorded = tx.systems.by_source()
    assert {source: r.identity for source, r in recorded.items()} == {
        Source.GITLAB: {"url": "https://gitlab.example.com", "projects": ["mhhs/dip-platform"]},
        Source.SERVICENOW: {"instance": "https://acme.service-now.com"},
        Source.ADO: {"organization": "https://dev.azure.com/mhhs", "project": "Programme"},
    }
    assert recorded[Source.ADO].recorded_at == T0


SAME = [
    {"servicenow__url": "https://ACME.service-now.com/"},
    {"gitlab__url": "https://gitlab.example.com/"},
    {"ado__organization_url": "https://dev.azure.com/mhhs/"},
]
# Each names another system, and how the refusal names both.
OTHERS = [
    (
        {"servicenow__url": "https://acme-test.service-now.com"},
        "ServiceNow: the store's is instance https://acme.service-now.com; "
        "the configuration's is instance https://acme-test.service-now.com",
    ),
    (
        {"gitlab__url": "https://gitlab.other.org"},
        "GitLab: the store's is url https://gitlab.example.com; "
        "the configuration's is url https://gitlab.other.org",
    ),
    (
        {"ado__project": "Sandbox"},
        "Azure DevOps: the store's is organization https://dev.azure.com/mhhs project Programme; "
        "the configuration's is organization https://dev.azure.com/mhhs project Sandbox",
    ),
    (
        {"ado__organization_url": "https://dev.azure.com/elexon"},
        "the configuration's is organization https://dev.azure.com/elexon project Programme",
    ),
]


def test_the_same_systems_written_another_way_start_and_others_are_refused_naming_both(store: Store) -> None:
    check_systems(store, _settings())
    for same in SAME:
        check_systems(store, _settings(**same))
    for other, named in OTHERS:
        with pytest.raises(OtherSystemsError) as raised:
            check_systems(store, _settings(**other))
        assert named in str(raised.value)
        assert "bridge db repoint" in str(raised.value)
        # Refused, not recorded: the store still names the systems it was filled from.
        with pytest.raises(OtherSystemsError):
            check_systems(store, _settings(**other))


def test_every_other_system_is_named_at_once(store: Store) -> None:
    check_systems(store, _settings())
    with pytest.raises(OtherSystemsError) as raised:
        check_systems(
            store,
            _settings(servicenow__url="https://b.service-now.com", gitlab__url="https://gitlab.b.org"),
        )
    assert [d.source for d in raised.value.differences] == [Source.GITLAB, Source.SERVICENOW]


def test_a_system_configured_later_is_recorded_and_one_left_out_is_no_conflict(store: Store) -> None:
    check_systems(store, _settings(ado=None))
    check_systems(store, _settings())  # ADO configured later: recorded now
    with store.transaction(readonly=True) as tx:
        assert Source.ADO in tx.systems.by_source()
    check_systems(store, _settings(servicenow=None))  # ServiceNow left out: nothing read from it
    with pytest.raises(OtherSystemsError):
        check_systems(store, _settings(ado__project="Other"))


def test_more_gitlab_projects_are_added_to_the_record(store: Store) -> None:
    check_systems(store, _settings())
    projects = [
        {"path": "mhhs/dip-platform", "component": "dip-platform"},
        {"path": "mhhs/helix-settlement", "component": "helix-settlement"},
    ]
    check_systems(store, _settings(gitlab__projects=projects))
    check_systems(store, _settings())  # a project dropped from the configuration stays in the record
    with store.transaction(readonly=True) as tx:
        identity = tx.systems.by_source()[Source.GITLAB].identity
    assert identity["projects"] == ["mhhs/dip-platform", "mhhs/helix-settlement"]


def test_repoint_changes_the_record_on_purpose_and_says_what_it_means(store: Store) -> None:
    check_systems(store, _settings())
    other = _settings(servicenow__url="https://acme-restored.service-now.com")
    found = differences(store, other)
    assert [d.source for d in found] == [Source.SERVICENOW]
    told = meaning(store, found)
    assert len(told) == 1
    assert "0 RFCs read from instance https://acme.service-now.com" in told[0]
    assert "instance https://acme-restored.service-now.com" in told[0]
    assert repoint(store, other, now=T0) == found
    check_systems(store, other)  # now it starts
    with pytest.raises(OtherSystemsError):
        check_systems(store, _settings())  # and the old instance is the other one
    assert differences(store, other) == []
    assert configured_systems(other)[Source.SERVICENOW] == {
        "instance": "https://acme-restored.service-now.com"
    }


def test_the_doctor_tells_whether_the_store_belongs_to_the_configured_systems(store: Store) -> None:
    fresh = systems_check(store, _settings())
    assert fresh.status is CheckStatus.OK and "none recorded yet" in fresh.detail
    check_systems(store, _settings(ado=None))
    same = systems_check(store, _settings())
    assert (same.status, same.detail) == (CheckStatus.OK, "filled from the configured GitLab, ServiceNow")
    other = systems_check(store, _settings(servicenow__url="https://acme-test.service-now.com"))
    assert other.status is CheckStatus.FAILED
    assert "the configuration's is instance https://acme-test.service-now.com" in other.detail
    assert "bridge db repoint" in other.detail
