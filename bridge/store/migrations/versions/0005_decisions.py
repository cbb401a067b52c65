"""What the engine decided, stored for readers: control points, carry-forward verdicts, each deployment's
RFC record and whether it was approved; and snapshots of the engine's state, so a start need not replay the
journal."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("deployments") as table:
        table.add_column(sa.Column("approved", sa.Boolean(), nullable=False, server_default=sa.true()))
        table.add_column(sa.Column("rfc_sys_id", sa.String(64)))
    op.create_table(
        "control_points",
        sa.Column("release_key", sa.String(256), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("source", sa.String(512), nullable=False),
        sa.PrimaryKeyConstraint("release_key", "position", name="pk_control_points"),
        comment="Each release's control points as the engine judged them last, in the approach's order.",
    )
    op.create_table(
        "carry_forward",
        sa.Column("emergency", sa.String(256), nullable=False),
        sa.Column("component", sa.String(128), nullable=False),
        sa.Column("regular", sa.String(256)),
        sa.Column("dropped", JSON_DOCUMENT, nullable=False),
        sa.Column("ancestry", sa.Boolean()),
        sa.PrimaryKeyConstraint("emergency", name="pk_carry_forward"),
        comment=(
            "Each emergency release's carry-forward verdict: into which regular release, what was dropped."
        ),
    )
    op.create_index("ix_carry_forward_regular", "carry_forward", ["regular"])
    op.create_index("ix_carry_forward_component", "carry_forward", ["component"])
    op.create_table(
        "planned",
        sa.Column("worker", sa.String(256), nullable=False),
        sa.Column("journal_id", sa.BigInteger(), nullable=False),
        sa.Column("planned_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("worker", name="pk_planned"),
        comment="How far each worker has planned the journal and stored what it decided.",
    )
    op.create_table(
        "snapshots",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("journal_id", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", TIMESTAMP, nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snapshots"),
        comment="The engine's state folded from the journal up to journal_id, compressed.",
    )


def downgrade() -> None:
    op.drop_table("snapshots")
    op.drop_table("planned")
    op.drop_index("ix_carry_forward_component", table_name="carry_forward")
    op.drop_index("ix_carry_forward_regular", table_name="carry_forward")
    op.drop_table("carry_forward")
    op.drop_table("control_points")
    with op.batch_alter_table("deployments") as table:
        table.drop_column("rfc_sys_id")
        table.drop_column("approved")
