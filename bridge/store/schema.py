"""The store's tables, as SQLAlchemy Core metadata: what the migrations create and the queries use.

Every rule that can live in the database does: unique keys stop duplicate deliveries, actions,
links and findings; check constraints keep statuses to their enums; a partial unique index keeps one
current deployment per environment and component.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.type_api import _BindProcessorType as _BindProcessor
from sqlalchemy.sql.type_api import _ResultProcessorType as _ResultProcessor
from sqlalchemy.types import TypeDecorator, TypeEngine

# Stable constraint names, so migrations can name what they alter on both backends.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

SOURCES = ("gitlab", "servicenow", "ado")
INBOX_KINDS = ("webhook", "poll", "fetch", "feedback")
LINK_KINDS = ("release-rfc", "release-defect-fixed", "release-defect-outstanding")
ACTION_STATUSES = ("pending", "running", "done", "skipped", "retry", "dead")
SEVERITIES = ("error", "warning", "info")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend stores.

    PostgreSQL keeps `timestamptz`; SQLite keeps naive UTC text, which sorts and compares correctly
    because every value is written in the same zone and format.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> _BindProcessor[datetime] | None:
        """The usual processing, remembering its last answer: a bulk write binds one `now` to every row
        (an outbox row holds it three times), and converting it is most of what binding a row costs."""
        process = super().bind_processor(dialect)
        return None if process is None else _remembering(process, lambda value, seen: value is seen)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> _ResultProcessor[datetime] | None:
        """The usual processing, remembering its last answer: rows written together read back the same
        stored time (SQLite's text, which is parsed by a regular expression), often in several columns."""
        process = super().result_processor(dialect, coltype)
        if process is None:
            return None
        # Equal, not the same object: each row brings its own copy of the stored text.
        return _remembering(process, lambda value, seen: type(value) is type(seen) and value == seen)


def _remembering(convert: Callable[[Any], Any], same: Callable[[Any, Any], bool]) -> Callable[..., Any]:
    """`convert`, answering again what it answered last when a value is `same` as the last one (None
    is always None)."""
    last: tuple[Any, Any] = (None, None)  # one tuple, read and replaced whole (threads)

    def remembered(value: Any) -> Any:
        nonlocal last
        if value is None:
            return None
        seen, converted = last
        if same(value, seen):
            return converted
        converted = convert(value)
        last = (value, converted)
        return converted

    return remembered


def _json() -> TypeEngine[Any]:
    # JSONB on PostgreSQL: compact, and indexable should a query ever need it.
    return JSON().with_variant(JSONB(), "postgresql")


def _id() -> Column[int]:
    # SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
    return Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


inbox = Table(
    "inbox",
    metadata,
    _id(),
    Column("source", String(16), nullable=False),
    Column("delivery_key", String(512), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("payload", _json(), nullable=False),
    Column("correlation_id", String(128)),
    Column("received_at", UtcDateTime(), nullable=False),
    # Not processed before this time: a failed row is rescheduled, never slept on.
    Column("available_at", UtcDateTime(), nullable=False),
    Column("processed_at", UtcDateTime()),
    Column("attempts", Integer(), nullable=False, server_default=text("0")),
    Column("last_error", Text()),
    UniqueConstraint("source", "delivery_key"),
    _one_of("source", SOURCES, "source"),
    _one_of("kind", INBOX_KINDS, "kind"),
    comment="Every delivery and poll result, stored before it is acknowledged; one row per delivery key.",
)
Index(
    "ix_inbox_unprocessed",
    inbox.c.available_at,
    inbox.c.id,
    postgresql_where=inbox.c.processed_at.is_(None),
    sqlite_where=inbox.c.processed_at.is_(None),
)

releases = Table(
    "releases",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("tag", String(255), primary_key=True),
    Column("component", String(128), nullable=False),
    Column("version", String(64), nullable=False),
    Column("version_order", String(80)),  # sorts versions part by part (bridge.versions.version_order)
    Column("release_type", String(16)),
    Column("commit_sha", String(64)),
    Column("note_text", Text(), nullable=False),
    Column("note_source", String(16), nullable=False),
    Column("parsed_note", _json()),
    Column("published_at", UtcDateTime()),
    Column("web_url", String(1024)),
    Column("removed", Boolean(), nullable=False, server_default=text("false")),
    # A digest of tag, commit and note: which revision this is. GitLab has no revision counter, so
    # the time the bridge read it orders revisions.
    Column("revision", String(64), nullable=False),
    Column("read_at", UtcDateTime(), nullable=False),
    Column("stored_at", UtcDateTime(), nullable=False),
    comment="The latest revision the bridge knows of each GitLab release (a tag of a known project).",
)
Index("ix_releases_component_version", releases.c.component, releases.c.version)
Index("ix_releases_listed", releases.c.component, releases.c.version_order)

rfcs = Table(
    "rfcs",
    metadata,
    Column("sys_id", String(64), primary_key=True),
    # Not unique here: ServiceNow keeps numbers unique, and a second unique key beside sys_id would
    # make two processors inserting the same new RFC at once fail instead of one updating.
    Column("number", String(32), nullable=False, index=True),
    Column("state", String(32), nullable=False),
    Column("mod_count", Integer(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("fields", _json(), nullable=False),
    Column("stored_at", UtcDateTime(), nullable=False),
    comment="The latest revision (sys_mod_count) the bridge knows of each ServiceNow change request.",
)

defects = Table(
    "defects",
    metadata,
    Column("id", BigInteger(), primary_key=True, autoincrement=False),
    Column("rev", Integer(), nullable=False),
    Column("state", String(64), nullable=False),
    Column("severity", String(64)),
    Column("title", Text(), nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
    Column("changed_by", String(255)),
    Column("stored_at", UtcDateTime(), nullable=False),
    comment="The latest revision the bridge knows of each ADO defect (work item).",
)

links = Table(
    "links",
    metadata,
    _id(),
    Column("kind", String(32), nullable=False),
    Column("left_key", String(255), nullable=False),
    Column("right_key", String(255), nullable=False),
    Column("evidence", Text(), nullable=False),
    Column("evidence_revision", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("kind", "left_key", "right_key"),
    _one_of("kind", LINK_KINDS, "kind"),
    comment="Links between records (a release and an RFC or a defect) with the evidence that made them.",
)
Index("ix_links_right_key", links.c.right_key)

deployments = Table(
    "deployments",
    metadata,
    _id(),
    Column("environment", String(64), nullable=False),
    Column("component", String(128), nullable=False),
    Column("version", String(64), nullable=False),
    Column("rfc_number", String(32)),
    Column("deployed_from", UtcDateTime(), nullable=False),
    Column("deployed_to", UtcDateTime()),
    Column("rolled_back", Boolean(), nullable=False, server_default=text("false")),
    Column("approved", Boolean(), nullable=False, server_default=text("true")),
    Column("rfc_sys_id", String(64)),
    comment="Environment ledger: which version of a component was deployed where, when, by which RFC.",
)
Index(
    "ix_deployments_history", deployments.c.environment, deployments.c.component, deployments.c.deployed_from
)
# At most one current (open) deployment per environment and component.
Index(
    "uq_deployments_current",
    deployments.c.environment,
    deployments.c.component,
    unique=True,
    postgresql_where=deployments.c.deployed_to.is_(None),
    sqlite_where=deployments.c.deployed_to.is_(None),
)

findings = Table(
    "findings",
    metadata,
    _id(),
    Column("code", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("message", Text(), nullable=False),
    # Messages can be long; the unique key holds their digest.
    Column("message_hash", String(64), nullable=False),
    Column("evidence", _json(), nullable=False),
    Column("first_seen", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime()),
    UniqueConstraint("code", "subject", "message_hash"),
    _one_of("severity", SEVERITIES, "severity"),
    comment="Findings: what is wrong or worth knowing about a subject; the same finding is one row.",
)
Index("ix_findings_subject", findings.c.subject)

outbox = Table(
    "outbox",
    metadata,
    _id(),
    Column("key", String(512), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("target", String(16), nullable=False),
    Column("payload", _json(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False, server_default=text("0")),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_error", Text()),
    Column("detail", Text()),
    Column("claimed_by", String(128)),
    Column("claimed_at", UtcDateTime()),
    Column("cause", String(255)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("defect_id", Integer()),  # the defect a move is of (None for other actions)
    _one_of("status", ACTION_STATUSES, "status"),
    _one_of("target", SOURCES, "target"),
    comment="Actions to carry out, committed with the state they come from; one row per effect key.",
)
Index("ix_outbox_due", outbox.c.target, outbox.c.status, outbox.c.next_attempt_at)
Index("ix_outbox_defect_id", outbox.c.defect_id)

audit = Table(
    "audit",
    metadata,
    _id(),
    Column("at", UtcDateTime(), nullable=False),
    Column("system", String(16), nullable=False),
    Column("record", String(255), nullable=False),
    Column("action_key", String(512)),
    Column("change", Text(), nullable=False),
    Column("reason", Text(), nullable=False),
    comment="Append-only trail of what the bridge changed and why (triggers refuse updates and deletes).",
)
Index("ix_audit_record", audit.c.record, audit.c.at)

poll_cursors = Table(
    "poll_cursors",
    metadata,
    Column("source", String(16), primary_key=True),
    Column("scope", String(255), primary_key=True),
    Column("cursor", Text()),
    Column("updated_at", UtcDateTime()),
    Column("last_poll_at", UtcDateTime()),
    Column("last_poll_ok", Boolean()),
    Column("last_success_at", UtcDateTime()),
    Column("last_error", Text()),
    _one_of("source", SOURCES, "source"),
    comment="Each poller's cursor per scope (project, table, query) and its last poll's outcome.",
)

journal = Table(
    "journal",
    metadata,
    _id(),
    Column("source", String(16), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("record_key", String(512), nullable=False),
    Column("revision", String(128), nullable=False),
    Column("payload", _json(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    UniqueConstraint("kind", "record_key", "revision"),
    _one_of("source", SOURCES, "source"),
    comment="Each revision of each record read, once: the engine's state is their fold.",
)

systems = Table(
    "systems",
    metadata,
    Column("source", String(16), primary_key=True),
    Column("identity", _json(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    _one_of("source", SOURCES, "source"),
    comment="The system each source's records were read from (URL, instance, organisation, project).",
)

control_points = Table(
    "control_points",
    metadata,
    Column("release_key", String(256), nullable=False),
    Column("position", Integer(), nullable=False),
    Column("number", String(16), nullable=False),
    Column("name", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("evidence", Text(), nullable=False),
    Column("source", String(512), nullable=False),
    PrimaryKeyConstraint("release_key", "position"),
    comment="Each release's control points as the engine judged them last, in the approach's order.",
)

carry_forward = Table(
    "carry_forward",
    metadata,
    Column("emergency", String(256), nullable=False),
    Column("component", String(128), nullable=False),
    Column("regular", String(256)),
    Column("dropped", _json(), nullable=False),
    Column("ancestry", Boolean()),
    PrimaryKeyConstraint("emergency"),
    comment="Each emergency release's carry-forward verdict: into which regular release, what was dropped.",
)
Index("ix_carry_forward_regular", carry_forward.c.regular)

release_fixes = Table(
    "release_fixes",
    metadata,
    Column("release_key", String(256), nullable=False),
    Column("defect_id", Integer(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("why", Text(), nullable=False),
    # The move the engine wants for this release, whose outcome the outbox holds under move_key.
    Column("move_key", String(512)),
    Column("move_to", String(128)),
    Column("move_where", Text()),
    Column("move_back", Boolean()),
    Column("title", Text()),  # the defect's, as the engine last saw it
    Column("state", String(128)),
    PrimaryKeyConstraint("release_key", "defect_id"),
    comment="Where each defect a release lists as fixed stands for it, and why, as the engine decided.",
)
Index("ix_release_fixes_defect_id", release_fixes.c.defect_id)
Index("ix_carry_forward_component", carry_forward.c.component)

planned = Table(
    "planned",
    metadata,
    Column("worker", String(256), nullable=False),
    Column("journal_id", BigInteger(), nullable=False),
    Column("planned_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("worker"),
    comment="How far each worker has planned the journal and stored what it decided.",
)

snapshots = Table(
    "snapshots",
    metadata,
    _id(),
    Column("journal_id", BigInteger(), nullable=False),
    Column("taken_at", UtcDateTime(), nullable=False),
    Column("format", Integer(), nullable=False),
    Column("payload", LargeBinary(), nullable=False),
    comment="The engine's state folded from the journal up to journal_id, compressed.",
)
