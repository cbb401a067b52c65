"""Store test fixtures: the shared database fixtures, and a fixed clock for timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.store_fixtures import (  # noqa: F401 - fixtures are found by name
    database_url,
    empty_database_url,
    postgres_admin_url,
    postgres_template,
    sqlite_template,
    store,
    store_backend,
)

T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
