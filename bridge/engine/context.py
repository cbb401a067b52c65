"""What the engine is told besides the state: the components, the policies and the mappings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote

from bridge.mappings import EnvironmentMapping, ServiceNowMapping
from bridge.versions import DEFAULT_TAG_PATTERNS


@dataclass(frozen=True)
class Component:
    """A GitLab project whose tags are releases of one component."""

    project: str
    name: str
    tag_patterns: tuple[str, ...] = DEFAULT_TAG_PATTERNS


@dataclass(frozen=True)
class EngineContext:
    """Everything configurable the rules depend on; built once by the service from its settings."""

    components: tuple[Component, ...]
    servicenow: ServiceNowMapping
    environments: EnvironmentMapping
    retest_on: str = "deployment"  # or "release_note"
    eligible_states: tuple[str, ...] = ("Fixed", "Resolved")
    ready_for_retest: str = "Ready for Retest"
    retested_states: tuple[str, ...] = ("In Retest", "Closed")
    create_rfc_drafts: bool = False
    rfc_draft_after: timedelta = timedelta(hours=24)
    gitlab_url: str | None = None
    servicenow_url: str | None = None
    ado_project_url: str | None = None  # the organisation's URL and the project, e.g. .../mhhs/Programme
    # RFC fields by role (as ChangeUpdated.fields carries them): where a release or approval is named.
    release_field: str = "release"
    governance_field: str = "governance_approval"
    extra: dict[str, str] = field(default_factory=dict)

    def component(self, project: str) -> Component | None:
        return next((c for c in self.components if c.project == project), None)

    def release_url(self, project: str, tag: str) -> str | None:
        if not self.gitlab_url:
            return None
        return f"{self.gitlab_url.rstrip('/')}/{project}/-/releases/{quote(tag, safe='')}"

    def rfc_url(self, sys_id: str) -> str | None:
        if not self.servicenow_url:
            return None
        return f"{self.servicenow_url.rstrip('/')}/nav_to.do?uri=change_request.do?sys_id={sys_id}"

    def defect_url(self, defect_id: int) -> str | None:
        if not self.ado_project_url:
            return None
        return f"{self.ado_project_url.rstrip('/')}/_workitems/edit/{defect_id}"
