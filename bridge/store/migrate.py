"""Schema migrations, run from code: upgrade a database to the head revision and report where it stands."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from bridge.store.engine import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Alembic keeps the running migration's context in module globals: one migration per process at a
# time. Across processes (replicas), env.py serialises on a PostgreSQL advisory lock.
_ALEMBIC = threading.Lock()


def alembic_config() -> Config:
    """Alembic's configuration for the store's migrations, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of the bridge."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head


@contextmanager
def _engine(target: Engine | str | URL) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = make_engine(target)
    try:
        yield engine
    finally:
        engine.dispose()


def upgrade(target: Engine | str | URL, revision: str = "head") -> None:
    """Migrate the database to `revision`, in one transaction; safe to call on an up-to-date database."""
    with _ALEMBIC, _engine(target) as engine, engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(target: Engine | str | URL) -> str | None:
    """The revision the database is at; None for an empty database."""
    with _engine(target) as engine, engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date(target: Engine | str | URL) -> bool:
    """Whether the database is at the head revision (for /readyz)."""
    return current_revision(target) == head_revision()
