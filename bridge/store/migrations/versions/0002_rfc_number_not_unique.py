"""RFC numbers indexed, not unique: concurrent upserts of a new RFC conflict on sys_id alone."""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot drop a constraint in place; batch mode copies the table without it.
    with op.batch_alter_table("rfcs") as batch:
        batch.drop_constraint("uq_rfcs_number", type_="unique")
        batch.create_index("ix_rfcs_number", ["number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rfcs") as batch:
        batch.drop_index("ix_rfcs_number")
        batch.create_unique_constraint("uq_rfcs_number", ["number"])
