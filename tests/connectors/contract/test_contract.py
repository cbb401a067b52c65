"""The connector contract (suite.py), run on each connector: GitLab, ServiceNow, ADO."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.outcomes import DEFAULT_STATUSES
from tests.connectors.contract.ado_harness import AdoHarness, AdoStubs
from tests.connectors.contract.gitlab_harness import GitLabHarness, GitLabStubs
from tests.connectors.contract.servicenow_harness import ServiceNowHarness, ServiceNowStubs
from tests.connectors.contract.suite import CASES, ConnectorContract


class TestGitLab(ConnectorContract):
    @pytest.fixture
    def harness(self, gitlab_harness: GitLabHarness) -> GitLabHarness:
        return gitlab_harness

    @pytest.fixture
    def stubs(self) -> GitLabStubs:
        return GitLabStubs()


class TestServiceNow(ConnectorContract):
    @pytest.fixture
    def harness(self, servicenow_harness: ServiceNowHarness) -> ServiceNowHarness:
        return servicenow_harness

    @pytest.fixture
    def stubs(self) -> ServiceNowStubs:
        return ServiceNowStubs()


class TestAdo(ConnectorContract):
    @pytest.fixture
    def harness(self, ado_harness: AdoHarness) -> AdoHarness:
        return ado_harness

    @pytest.fixture
    def stubs(self, ado_locations: Any) -> AdoStubs:
        return AdoStubs(ado_locations)


def test_the_contract_says_what_every_status_of_the_shared_table_means() -> None:
    covered = {case.reply.status for case in CASES if case.reply.failure is None}
    assert set(DEFAULT_STATUSES) <= covered
