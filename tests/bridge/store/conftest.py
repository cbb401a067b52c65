"""Store test fixtures: the shared database fixtures (see tests/store_fixtures.py)."""

from __future__ import annotations

from tests.store_fixtures import (  # noqa: F401 - fixtures are found by name
    database_url,
    empty_database_url,
    postgres_admin_url,
    postgres_databases,
    postgres_template,
    sqlite_template,
    store,
    store_backend,
)
