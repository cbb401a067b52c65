"""The demo programme: its data file, and seeding it into the three simulators.

Seeding goes through each simulator's in-process API, which behaves as its REST API does, so the
seeded history looks to the bridge exactly as a real programme's would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from bridge.mappings import load_mapping

HERE = Path(__file__).resolve().parent
NOTES_DIR = HERE / "notes"
PLACEHOLDER = re.compile(r"\{(defect|rfc):([\w.-]+)\}")


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReleaseSeed(_Data):
    version: str
    note: str
    released_at: str


class ComponentSeed(_Data):
    project: str
    component: str
    tag_patterns: tuple[str, ...]
    releases: tuple[ReleaseSeed, ...] = ()


class RfcSeed(_Data):
    key: str
    short_description: str
    environment: str
    state: str
    type: str = "normal"
    approval: str = "not requested"
    close_code: str = ""
    close_notes: str = ""
    start_date: str = ""
    end_date: str = ""
    cab_date: str = ""
    governance_approval: str = ""
    work_notes: str = ""  # written while it was implemented (control point 8)


class DefectSeed(_Data):
    key: str
    title: str
    severity: str
    state: str


class Programme(_Data):
    """A seeded programme: components with their releases, RFCs and defects."""

    version: int
    components: tuple[ComponentSeed, ...]
    rfcs: tuple[RfcSeed, ...]
    defects: tuple[DefectSeed, ...]


def demo_programme() -> Programme:
    return load_mapping("demo_programme", Programme, HERE)


# --- what seeding needs from each simulator ------------------------------------------------------


class GitLabSeeding(Protocol):
    def create_project(self, path_with_namespace: str) -> dict[str, object]: ...
    def add_commit(self, project_id: int, message: str, *, branch: str = "main") -> str: ...
    def create_tag(
        self, project_id: int, name: str, ref: str, message: str | None = None
    ) -> dict[str, object]: ...
    def create_release(
        self,
        project_id: int,
        tag_name: str,
        description: str,
        *,
        name: str | None = None,
        ref: str | None = None,
        released_at: str | None = None,
    ) -> dict[str, object]: ...


class ServiceNowSeeding(Protocol):
    def insert(
        self, table: str, fields: dict[str, str], *, input_display_value: bool = False
    ) -> dict[str, str]: ...


class AdoSeeding(Protocol):
    def create_work_item(
        self, fields: dict[str, object], *, work_item_type: str = "Defect"
    ) -> dict[str, object]: ...
    def update_work_item(
        self, work_item_id: int, fields: dict[str, object], *, by: str = "Tester"
    ) -> dict[str, object]: ...


@dataclass
class Seeded:
    """What seeding created: ids and numbers by the programme's keys, projects by path."""

    defects: dict[str, int] = field(default_factory=dict)
    rfcs: dict[str, str] = field(default_factory=dict)
    rfc_sys_ids: dict[str, str] = field(default_factory=dict)
    projects: dict[str, int] = field(default_factory=dict)


def render_note(template: str, seeded: Seeded) -> str:
    """Replace `{defect:KEY}` and `{rfc:KEY}` with the id and number seeding gave them."""

    def replace(match: re.Match[str]) -> str:
        kind, key = match.groups()
        return str(seeded.defects[key]) if kind == "defect" else seeded.rfcs[key]

    return PLACEHOLDER.sub(replace, template)


def seed(
    programme: Programme,
    gitlab: GitLabSeeding,
    servicenow: ServiceNowSeeding,
    ado: AdoSeeding,
    *,
    environment_field: str = "u_environment",
    governance_field: str = "u_governance_approval",
) -> Seeded:
    """Create the programme's defects, RFCs and releases in the three simulators."""
    seeded = Seeded()
    for defect in programme.defects:
        item = ado.create_work_item(
            {
                "System.Title": defect.title,
                "Microsoft.VSTS.Common.Severity": defect.severity,
            }
        )
        work_item_id = int(str(item["id"]))
        if defect.state != "New":
            ado.update_work_item(work_item_id, {"System.State": defect.state}, by="Programme Tester")
        seeded.defects[defect.key] = work_item_id
    for rfc in programme.rfcs:
        fields = {
            "short_description": rfc.short_description,
            "type": rfc.type,
            "state": rfc.state,
            "approval": rfc.approval,
            "close_code": rfc.close_code,
            "close_notes": rfc.close_notes,
            "start_date": rfc.start_date,
            "end_date": rfc.end_date,
            "cab_date": rfc.cab_date,
            "assignment_group": "Release Management",
            environment_field: rfc.environment,
            governance_field: rfc.governance_approval,
            "work_notes": rfc.work_notes,
        }
        # Written as a person would type them: a reference field (the environment) by its record's name.
        record = servicenow.insert(
            "change_request", {k: v for k, v in fields.items() if v}, input_display_value=True
        )
        seeded.rfcs[rfc.key] = record["number"]
        seeded.rfc_sys_ids[rfc.key] = record["sys_id"]
    for component in programme.components:
        project = gitlab.create_project(component.project)
        project_id = int(str(project["id"]))
        seeded.projects[component.project] = project_id
        gitlab.add_commit(project_id, f"Initial {component.component} import")
        pattern = component.tag_patterns[0]
        for release in component.releases:
            tag = pattern.replace("{component}", component.component).replace("{version}", release.version)
            sha = gitlab.add_commit(project_id, f"Prepare {component.component} {release.version}")
            note = render_note((NOTES_DIR / release.note).read_text(encoding="utf-8"), seeded)
            gitlab.create_tag(project_id, tag, sha, message=f"Release {release.version}")
            gitlab.create_release(
                project_id,
                tag,
                note,
                name=f"{component.component} {release.version}",
                released_at=release.released_at,
            )
    return seeded
