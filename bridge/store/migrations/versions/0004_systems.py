"""The systems a store was filled from: a store meets only the GitLab, ServiceNow and ADO it knows."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "systems",
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("identity", JSON_DOCUMENT, nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("source", name="pk_systems"),
        sa.CheckConstraint("source IN ('gitlab', 'servicenow', 'ado')", name="ck_systems_source"),
        comment="The system each source's records were read from (URL, instance, organisation, project).",
    )


def downgrade() -> None:
    op.drop_table("systems")
