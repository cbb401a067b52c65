"""The CLI's tests: the store fixtures on both backends, for commands that open the store."""

from __future__ import annotations

from tests.store_fixtures import (  # noqa: F401 - fixtures are found by name
    database_url,
    postgres_admin_url,
    postgres_databases,
    postgres_template,
    sqlite_template,
    store_backend,
)
