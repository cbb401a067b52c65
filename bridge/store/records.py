"""Records: the latest revision the bridge knows of each release, RFC and defect, only ever moved forward.

An upsert with an older revision than the stored one is ignored and an equal one is a no-op, so
events applied late, twice or out of order leave the newest revision in place.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, and_, func, select, update

from bridge.domain.events import ChangeUpdated, DefectUpdated, NoteSource
from bridge.domain.keys import TagKey
from bridge.store.base import Manager, utcnow
from bridge.store.schema import defects, releases, rfcs
from bridge.versions import version_order

# The condition, on (stored row, incoming row), under which the incoming row replaces the stored one.
Newer = Callable[[Table, Any], ColumnElement[bool]]


@dataclass(frozen=True)
class ReleaseRecord:
    """A GitLab release as last read: `revision` names the content, `read_at` orders revisions."""

    project: str
    tag: str
    component: str
    version: str
    release_type: str | None
    commit_sha: str | None
    note_text: str
    note_source: NoteSource
    parsed_note: dict[str, Any] | None
    published_at: datetime | None
    revision: str
    read_at: datetime
    web_url: str | None = None
    removed: bool = False

    @property
    def record_key(self) -> str:
        return str(TagKey(self.project, self.tag))


@dataclass(frozen=True)
class RfcRow:
    """A ServiceNow change request as last read; `fields` holds what the rules need, as JSON."""

    sys_id: str
    number: str
    state: str
    mod_count: int
    updated_at: datetime
    fields: dict[str, Any]


@dataclass(frozen=True)
class DefectRecord:
    """An ADO defect as last read."""

    id: int
    rev: int
    state: str
    severity: str | None
    title: str
    changed_at: datetime
    changed_by: str | None = None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def rfc_record(event: ChangeUpdated) -> RfcRow:
    """The record to store for a change the connector reported."""
    fields: dict[str, Any] = {
        "type": event.type,
        "approval": event.approval,
        "close_code": event.close_code,
        "close_notes": event.close_notes,
        "planned_start": _iso(event.planned_start),
        "planned_end": _iso(event.planned_end),
        "cab_date": _iso(event.cab_date),
        "short_description": event.short_description,
        "description": event.description,
        "correlation_id": event.correlation_id,
        "environment": event.environment,
        "mapped": dict(event.fields),
    }
    if event.work_notes is not None:
        fields["work_notes"] = [
            {"created_at": _iso(note.created_at), "author": note.author, "text": note.text, "kind": note.kind}
            for note in event.work_notes
        ]
    return RfcRow(
        sys_id=event.sys_id,
        number=event.number,
        state=event.state.value,
        mod_count=event.mod_count,
        updated_at=event.updated_at,
        fields=fields,
    )


def defect_record(event: DefectUpdated) -> DefectRecord:
    """The record to store for a defect the connector reported."""
    return DefectRecord(
        id=event.id,
        rev=event.rev,
        state=event.state,
        severity=event.severity,
        title=event.title,
        changed_at=event.changed_at,
        changed_by=event.changed_by,
    )


def _release(row: Row[Any]) -> ReleaseRecord:
    return ReleaseRecord(
        project=row.project,
        tag=row.tag,
        component=row.component,
        version=row.version,
        release_type=row.release_type,
        commit_sha=row.commit_sha,
        note_text=row.note_text,
        note_source=NoteSource(row.note_source),
        parsed_note=row.parsed_note,
        published_at=row.published_at,
        revision=row.revision,
        read_at=row.read_at,
        web_url=row.web_url,
        removed=row.removed,
    )


def _rfc(row: Row[Any]) -> RfcRow:
    return RfcRow(
        sys_id=row.sys_id,
        number=row.number,
        state=row.state,
        mod_count=row.mod_count,
        updated_at=row.updated_at,
        fields=row.fields,
    )


def _defect(row: Row[Any]) -> DefectRecord:
    return DefectRecord(
        id=row.id,
        rev=row.rev,
        state=row.state,
        severity=row.severity,
        title=row.title,
        changed_at=row.changed_at,
        changed_by=row.changed_by,
    )


class _RecordManager(Manager):
    """What the three record tables share: an upsert that only ever moves a record forward."""

    def _forward_upsert(self, table: Table, keys: list[str], values: dict[str, Any], newer: Newer) -> bool:
        # One statement: insert, or update only when `newer` holds of the incoming row. Atomic on
        # both backends, so two processors applying revisions at once still end at the newest.
        def build(insert_into: Callable[[Table], Any]) -> Any:
            insert = insert_into(table)
            changes = {name: insert.excluded[name] for name in values if name not in keys}
            return insert.on_conflict_do_update(
                index_elements=keys, set_=changes, where=newer(table, insert.excluded)
            ).returning(table.c[keys[0]])

        statement = self.prepared(f"forward_upsert:{table.name}:{','.join(values)}", build)
        return self.connection.execute(statement, values).first() is not None


class ReleaseManager(_RecordManager):
    """Releases: the latest revision of each GitLab release, by (project, tag)."""

    def upsert(self, record: ReleaseRecord, *, now: datetime | None = None) -> bool:
        """Store a release's revision if it is new and read later than the stored one; True if it changed."""
        values = {
            "project": record.project,
            "tag": record.tag,
            "component": record.component,
            "version": record.version,
            "version_order": version_order(record.version),
            "release_type": record.release_type,
            "commit_sha": record.commit_sha,
            "note_text": record.note_text,
            "note_source": record.note_source.value,
            "parsed_note": record.parsed_note,
            "published_at": record.published_at,
            "web_url": record.web_url,
            "removed": record.removed,
            "revision": record.revision,
            "read_at": record.read_at,
            "stored_at": now or utcnow(),
        }
        changed = self._forward_upsert(
            releases,
            ["project", "tag"],
            values,
            lambda t, new: and_(t.c.read_at < new.read_at, t.c.revision != new.revision),
        )
        if not changed:
            # The same revision read again later: remember that, so an older, different revision
            # read in between cannot then overwrite it.
            self.connection.execute(
                update(releases)
                .where(
                    releases.c.project == record.project,
                    releases.c.tag == record.tag,
                    releases.c.revision == record.revision,
                    releases.c.read_at < record.read_at,
                )
                .values(read_at=record.read_at)
            )
        return changed

    def get(self, project: str, tag: str) -> ReleaseRecord | None:
        row = self.connection.execute(
            select(releases).where(releases.c.project == project, releases.c.tag == tag)
        ).first()
        return None if row is None else _release(row)

    def of(self, component: str, version: str | None = None) -> list[ReleaseRecord]:
        """A component's releases (or those of one version), in version order (by parts, not text)."""
        query = select(releases).where(releases.c.component == component)
        if version is not None:
            query = query.where(releases.c.version == version)
        found = [_release(row) for row in self.connection.execute(query)]
        return sorted(found, key=lambda record: (version_order(record.version), record.tag))

    def count(self) -> int:
        """How many releases the store holds (tags not removed)."""
        query = select(func.count()).select_from(releases).where(releases.c.removed.is_(False))
        return int(self.connection.execute(query).scalar() or 0)


class RfcManager(_RecordManager):
    """RFCs: the latest revision of each ServiceNow change request, by sys_id."""

    def upsert(self, record: RfcRow, *, now: datetime | None = None) -> bool:
        """Store an RFC if its mod_count is above the stored one; True if it changed."""
        values = {
            "sys_id": record.sys_id,
            "number": record.number,
            "state": record.state,
            "mod_count": record.mod_count,
            "updated_at": record.updated_at,
            "fields": record.fields,
            "stored_at": now or utcnow(),
        }
        return self._forward_upsert(rfcs, ["sys_id"], values, lambda t, new: t.c.mod_count < new.mod_count)

    def get(self, sys_id: str) -> RfcRow | None:
        row = self.connection.execute(select(rfcs).where(rfcs.c.sys_id == sys_id)).first()
        return None if row is None else _rfc(row)

    def by_number(self, number: str) -> RfcRow | None:
        row = self.connection.execute(select(rfcs).where(rfcs.c.number == number)).first()
        return None if row is None else _rfc(row)

    def by_numbers(self, numbers: Collection[str]) -> dict[str, RfcRow]:
        """The RFCs known by these numbers, by number."""
        if not numbers:
            return {}
        query = select(rfcs).where(rfcs.c.number.in_(sorted(numbers)))
        return {record.number: record for record in map(_rfc, self.connection.execute(query))}

    def count(self) -> int:
        """How many RFCs the store holds."""
        return int(self.connection.execute(select(func.count()).select_from(rfcs)).scalar() or 0)


class DefectManager(_RecordManager):
    """Defects: the latest revision of each ADO defect, by id."""

    def upsert(self, record: DefectRecord, *, now: datetime | None = None) -> bool:
        """Store a defect if its rev is above the stored one; True if it changed."""
        values = {
            "id": record.id,
            "rev": record.rev,
            "state": record.state,
            "severity": record.severity,
            "title": record.title,
            "changed_at": record.changed_at,
            "changed_by": record.changed_by,
            "stored_at": now or utcnow(),
        }
        return self._forward_upsert(defects, ["id"], values, lambda t, new: t.c.rev < new.rev)

    def get(self, defect_id: int) -> DefectRecord | None:
        row = self.connection.execute(select(defects).where(defects.c.id == defect_id)).first()
        return None if row is None else _defect(row)

    def get_many(self, defect_ids: list[int]) -> list[DefectRecord]:
        if not defect_ids:
            return []
        query = select(defects).where(defects.c.id.in_(defect_ids)).order_by(defects.c.id)
        return [_defect(row) for row in self.connection.execute(query)]

    def count(self) -> int:
        """How many defects the store holds."""
        return int(self.connection.execute(select(func.count()).select_from(defects)).scalar() or 0)
