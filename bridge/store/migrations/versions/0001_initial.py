"""Initial schema: inbox, records, links, ledger, findings, outbox, audit and poll cursors."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Types as they were at this revision; a migration never follows later changes to the models.
TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

REFUSE_SQLITE = """
CREATE TRIGGER audit_refuse_{verb} BEFORE {verb} ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END
"""
REFUSE_POSTGRESQL_FUNCTION = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit is append-only'; END $$
"""
REFUSE_POSTGRESQL = """
CREATE TRIGGER audit_refuse_change BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()
"""


def _make_audit_append_only() -> None:
    # The audit trail is evidence: the database itself refuses to edit or delete it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE_POSTGRESQL_FUNCTION)
        op.execute(REFUSE_POSTGRESQL)
    else:
        op.execute(REFUSE_SQLITE.format(verb="UPDATE"))
        op.execute(REFUSE_SQLITE.format(verb="DELETE"))


def _drop_audit_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_refuse_change ON audit")
        op.execute("DROP FUNCTION audit_refuse_change()")
    else:
        op.execute("DROP TRIGGER audit_refuse_update")
        op.execute("DROP TRIGGER audit_refuse_delete")


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("system", sa.String(length=16), nullable=False),
        sa.Column("record", sa.String(length=255), nullable=False),
        sa.Column("action_key", sa.String(length=512), nullable=True),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
        comment="Append-only trail of what the bridge changed and why (triggers refuse updates and deletes).",
    )
    op.create_index("ix_audit_record", "audit", ["record", "at"], unique=False)
    op.create_table(
        "defects",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("rev", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("changed_at", TIMESTAMP, nullable=False),
        sa.Column("changed_by", sa.String(length=255), nullable=True),
        sa.Column("stored_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_defects")),
        comment="The latest revision the bridge knows of each ADO defect (work item).",
    )
    op.create_table(
        "deployments",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("component", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("rfc_number", sa.String(length=32), nullable=True),
        sa.Column("deployed_from", TIMESTAMP, nullable=False),
        sa.Column("deployed_to", TIMESTAMP, nullable=True),
        sa.Column("rolled_back", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        comment="Environment ledger: which version of a component was deployed where, when, by which RFC.",
    )
    op.create_index(
        "ix_deployments_history", "deployments", ["environment", "component", "deployed_from"], unique=False
    )
    op.create_index(
        "uq_deployments_current",
        "deployments",
        ["environment", "component"],
        unique=True,
        postgresql_where=sa.text("deployed_to IS NULL"),
        sqlite_where=sa.text("deployed_to IS NULL"),
    )
    op.create_table(
        "findings",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("message_hash", sa.String(length=64), nullable=False),
        sa.Column("evidence", JSON_DOCUMENT, nullable=False),
        sa.Column("first_seen", TIMESTAMP, nullable=False),
        sa.Column("last_seen", TIMESTAMP, nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint("severity IN ('error', 'warning', 'info')", name=op.f("ck_findings_severity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint(
            "code", "subject", "message_hash", name=op.f("uq_findings_code_subject_message_hash")
        ),
        comment="Findings: what is wrong or worth knowing about a subject; the same finding is one row.",
    )
    op.create_index("ix_findings_subject", "findings", ["subject"], unique=False)
    op.create_table(
        "inbox",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("delivery_key", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("available_at", TIMESTAMP, nullable=False),
        sa.Column("processed_at", TIMESTAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('webhook', 'poll', 'fetch', 'feedback')", name=op.f("ck_inbox_kind")),
        sa.CheckConstraint("source IN ('gitlab', 'servicenow', 'ado')", name=op.f("ck_inbox_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("source", "delivery_key", name=op.f("uq_inbox_source_delivery_key")),
        comment="Every delivery and poll result, stored before it is acknowledged; one row per delivery key.",
    )
    op.create_index(
        "ix_inbox_unprocessed",
        "inbox",
        ["available_at", "id"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
        sqlite_where=sa.text("processed_at IS NULL"),
    )
    op.create_table(
        "links",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("left_key", sa.String(length=255), nullable=False),
        sa.Column("right_key", sa.String(length=255), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("evidence_revision", sa.String(length=64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "kind IN ('release-rfc', 'release-defect-fixed', 'release-defect-outstanding')",
            name=op.f("ck_links_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
        sa.UniqueConstraint("kind", "left_key", "right_key", name=op.f("uq_links_kind_left_key_right_key")),
        comment="Links between records (a release and an RFC or a defect) with the evidence that made them.",
    )
    op.create_index("ix_links_right_key", "links", ["right_key"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_at", TIMESTAMP, nullable=True),
        sa.Column("cause", sa.String(length=255), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'skipped', 'retry', 'dead')",
            name=op.f("ck_outbox_status"),
        ),
        sa.CheckConstraint("target IN ('gitlab', 'servicenow', 'ado')", name=op.f("ck_outbox_target")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
        comment="Actions to carry out, committed with the state they come from; one row per effect key.",
    )
    op.create_index("ix_outbox_due", "outbox", ["target", "status", "next_attempt_at"], unique=False)
    op.create_table(
        "poll_cursors",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        sa.Column("last_poll_at", TIMESTAMP, nullable=True),
        sa.Column("last_poll_ok", sa.Boolean(), nullable=True),
        sa.Column("last_success_at", TIMESTAMP, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("source IN ('gitlab', 'servicenow', 'ado')", name=op.f("ck_poll_cursors_source")),
        sa.PrimaryKeyConstraint("source", "scope", name=op.f("pk_poll_cursors")),
        comment="Each poller's cursor per scope (project, table, query) and its last poll's outcome.",
    )
    op.create_table(
        "releases",
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("component", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("release_type", sa.String(length=16), nullable=True),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("note_text", sa.Text(), nullable=False),
        sa.Column("note_source", sa.String(length=16), nullable=False),
        sa.Column("parsed_note", JSON_DOCUMENT, nullable=True),
        sa.Column("published_at", TIMESTAMP, nullable=True),
        sa.Column("web_url", sa.String(length=1024), nullable=True),
        sa.Column("removed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.Column("read_at", TIMESTAMP, nullable=False),
        sa.Column("stored_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("project", "tag", name=op.f("pk_releases")),
        comment="The latest revision the bridge knows of each GitLab release (a tag of a known project).",
    )
    op.create_index("ix_releases_component_version", "releases", ["component", "version"], unique=False)
    op.create_table(
        "rfcs",
        sa.Column("sys_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("mod_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("fields", JSON_DOCUMENT, nullable=False),
        sa.Column("stored_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("sys_id", name=op.f("pk_rfcs")),
        sa.UniqueConstraint("number", name=op.f("uq_rfcs_number")),
        comment="The latest revision (sys_mod_count) the bridge knows of each ServiceNow change request.",
    )
    _make_audit_append_only()


def downgrade() -> None:
    _drop_audit_triggers()
    op.drop_table("rfcs")
    op.drop_index("ix_releases_component_version", table_name="releases")
    op.drop_table("releases")
    op.drop_table("poll_cursors")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_links_right_key", table_name="links")
    op.drop_table("links")
    op.drop_index(
        "ix_inbox_unprocessed",
        table_name="inbox",
        postgresql_where=sa.text("processed_at IS NULL"),
        sqlite_where=sa.text("processed_at IS NULL"),
    )
    op.drop_table("inbox")
    op.drop_index("ix_findings_subject", table_name="findings")
    op.drop_table("findings")
    op.drop_index(
        "uq_deployments_current",
        table_name="deployments",
        postgresql_where=sa.text("deployed_to IS NULL"),
        sqlite_where=sa.text("deployed_to IS NULL"),
    )
    op.drop_index("ix_deployments_history", table_name="deployments")
    op.drop_table("deployments")
    op.drop_table("defects")
    op.drop_index("ix_audit_record", table_name="audit")
    op.drop_table("audit")
