"""Where each defect a release lists as fixed stands for it, as the engine decided; the defect each outbox
move is of, in a column of its own; and each release's version in an order a database can sort by."""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# As bridge.versions.version_order wrote it when this revision was made (a migration keeps its own copy,
# so that it does the same whatever the code becomes).
_VERSION = re.compile(r"^\s*[vV]?(\d{1,9})\.(\d{1,9})\.(\d{1,9})\.(\d{1,9})\s*$")


def version_order(text: str) -> str:
    match = _VERSION.match(text)
    if match is None:
        return f"1 {text}"
    return "0 " + ".".join(f"{int(part):09d}" for part in match.groups())


def upgrade() -> None:
    op.create_table(
        "release_fixes",
        sa.Column("release_key", sa.String(256), nullable=False),
        sa.Column("defect_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("move_key", sa.String(512)),
        sa.Column("move_to", sa.String(128)),
        sa.Column("move_where", sa.Text()),
        sa.Column("move_back", sa.Boolean()),
        sa.Column("title", sa.Text()),
        sa.Column("state", sa.String(128)),
        sa.PrimaryKeyConstraint("release_key", "defect_id", name="pk_release_fixes"),
        comment="Where each defect a release lists as fixed stands for it, and why, as the engine decided.",
    )
    op.create_index("ix_release_fixes_defect_id", "release_fixes", ["defect_id"])
    with op.batch_alter_table("outbox") as table:
        table.add_column(sa.Column("defect_id", sa.Integer()))
    op.create_index("ix_outbox_defect_id", "outbox", ["defect_id"])
    # The moves already in the outbox: their keys start move_defect:<defect id>:.
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer()),
        sa.column("key", sa.String()),
        sa.column("defect_id", sa.Integer()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.key).where(outbox.c.key.like("move\\_defect:%", escape="\\"))
    )
    found = [
        {"row": row.id, "defect": int(row.key.split(":")[1])}
        for row in rows
        if row.key.split(":")[1].isdigit()
    ]
    if found:
        connection.execute(
            outbox.update()
            .where(outbox.c.id == sa.bindparam("row"))
            .values(defect_id=sa.bindparam("defect")),
            found,
        )

    with op.batch_alter_table("releases") as table:
        table.add_column(sa.Column("version_order", sa.String(80)))
    op.create_index("ix_releases_listed", "releases", ["component", "version_order"])
    releases = sa.table(
        "releases",
        sa.column("project", sa.String()),
        sa.column("tag", sa.String()),
        sa.column("version", sa.String()),
        sa.column("version_order", sa.String()),
    )
    orders = [
        {"p": row.project, "t": row.tag, "order": version_order(row.version)}
        for row in connection.execute(sa.select(releases.c.project, releases.c.tag, releases.c.version))
    ]
    if orders:
        connection.execute(
            releases.update()
            .where(releases.c.project == sa.bindparam("p"), releases.c.tag == sa.bindparam("t"))
            .values(version_order=sa.bindparam("order")),
            orders,
        )


def downgrade() -> None:
    op.drop_index("ix_releases_listed", table_name="releases")
    with op.batch_alter_table("releases") as table:
        table.drop_column("version_order")
    op.drop_index("ix_outbox_defect_id", table_name="outbox")
    with op.batch_alter_table("outbox") as table:
        table.drop_column("defect_id")
    op.drop_index("ix_release_fixes_defect_id", table_name="release_fixes")
    op.drop_table("release_fixes")
