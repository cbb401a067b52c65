"""The journal: every revision of every record read, once each; the engine's state is folded from it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "journal",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("record_key", sa.String(512), nullable=False),
        sa.Column("revision", sa.String(128), nullable=False),
        sa.Column("payload", JSON_DOCUMENT, nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journal"),
        sa.UniqueConstraint("kind", "record_key", "revision", name="uq_journal_kind_record_key_revision"),
        sa.CheckConstraint("source IN ('gitlab', 'servicenow', 'ado')", name="ck_journal_source"),
        comment="Each revision of each record read, once: the engine's state is their fold.",
    )


def downgrade() -> None:
    op.drop_table("journal")
