"""Alembic's entry point for the store's migrations: runs them on the connection the caller opened."""

from __future__ import annotations

import hashlib

from alembic import context
from sqlalchemy import Connection, text

from bridge.store.schema import metadata

# Replicas that start together would otherwise race to migrate the same PostgreSQL database.
MIGRATION_LOCK = int.from_bytes(
    hashlib.blake2b(b"bridge:migrations", digest_size=8).digest(), "big", signed=True
)


def run_migrations(connection: Connection) -> None:
    """Run the pending migrations on `connection`, inside its transaction."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite alters tables by copying them; batch mode does that for us.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


def main() -> None:
    """Alembic runs this module for every command; the caller hands over the connection."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run the store's migrations through bridge.store.migrate.upgrade()")
    run_migrations(connection)


main()
