"""Wiring: connectors and the engine's context built once from the settings and the mappings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from bridge.config import Settings
from bridge.connector import Connector
from bridge.domain.events import Source
from bridge.engine.context import Component, EngineContext
from bridge.mappings import EnvironmentMapping, ServiceNowMapping, environment_mapping, servicenow_mapping
from bridge.service.worker.processor import Processor
from bridge.store import Store
from connectors.outcomes import RetryPolicy


@dataclass(frozen=True)
class Mappings:
    """The mappings the service runs with, loaded and validated once at start-up."""

    servicenow: ServiceNowMapping
    environments: EnvironmentMapping


def load_mappings() -> Mappings:
    return Mappings(servicenow_mapping(), environment_mapping())


def engine_context(settings: Settings, mappings: Mappings) -> EngineContext:
    policies = settings.policies
    return EngineContext(
        components=tuple(Component(p.path, p.component, p.tag_patterns) for p in settings.gitlab.projects),
        servicenow=mappings.servicenow,
        environments=mappings.environments,
        retest_on=policies.retest_on.value,
        eligible_states=policies.eligible_states,
        ready_for_retest=policies.ready_for_retest_state,
        retested_states=policies.retested_states,
        create_rfc_drafts=policies.create_rfc_drafts,
        rfc_draft_after=timedelta(hours=policies.rfc_draft_after_hours),
        gitlab_url=str(settings.gitlab.url) if settings.gitlab.url else None,
        servicenow_url=str(settings.servicenow.url) if settings.servicenow.url else None,
        ado_project_url=_ado_project_url(settings),
        release_field="release",
        governance_field="governance_approval",
    )


def _ado_project_url(settings: Settings) -> str | None:
    ado = settings.ado
    if ado.organization_url is None or not ado.project:
        return None
    return f"{str(ado.organization_url).rstrip('/')}/{quote(ado.project, safe='')}"


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(total_s=settings.retry.total_s, max_backoff_s=settings.retry.max_backoff_s)


def build_connectors(settings: Settings, mappings: Mappings) -> dict[Source, Connector]:
    """A connector for each system the settings configure (a system without a URL is left out)."""
    # Imported here: each client library is loaded only when its system is configured.
    connectors: dict[Source, Connector] = {}
    size = settings.service.max_webhook_bytes
    if settings.gitlab.url is not None:
        from connectors.gitlab.connector import GitLabConnector

        connectors[Source.GITLAB] = GitLabConnector(
            settings.gitlab, retry=retry_policy(settings), max_webhook_bytes=size
        )
    if settings.servicenow.url is not None:
        from connectors.servicenow.connector import ServiceNowConnector

        connectors[Source.SERVICENOW] = ServiceNowConnector(
            settings.servicenow, mappings.servicenow, retry=retry_policy(settings), max_webhook_bytes=size
        )
    if settings.ado.organization_url is not None:
        from connectors.ado.connector import AdoConnector

        connectors[Source.ADO] = AdoConnector(
            settings.ado, retry=retry_policy(settings), policy=settings.policies, max_webhook_bytes=size
        )
    return connectors


def open_store(settings: Settings) -> Store:
    """The configured store, migrated first when the settings say so."""
    store = Store.from_settings(settings.database)
    if settings.database.migrate_on_start:
        store.upgrade()
    return store


def build_processor(
    settings: Settings, *, dry_run: bool = False, store: Store | None = None, freeze_heap: bool = False
) -> Processor:
    """Everything the service needs, from the settings: store, connectors, engine context.

    `freeze_heap` for a process that is the worker and nothing else (see Processor).
    """
    mappings = load_mappings()
    return Processor(
        store or open_store(settings),
        build_connectors(settings, mappings),
        engine_context(settings, mappings),
        dry_run=dry_run,
        lease=timedelta(seconds=settings.service.action_lease_s),
        snapshot_every=settings.database.snapshot_every,
        freeze_heap=freeze_heap,
        journal_retention=(
            timedelta(days=settings.database.journal_retention_days)
            if settings.database.journal_retention_days
            else None
        ),
    )
