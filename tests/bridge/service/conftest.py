"""The service's tests: the store fixtures on both backends, and a fresh ADO client cache."""

from __future__ import annotations

import os
import tempfile

from tests.store_fixtures import (  # noqa: F401 - fixtures are found by name
    database_url,
    fresh_stores,
    postgres_admin_url,
    postgres_databases,
    postgres_template,
    sqlite_template,
    store,
    store_backend,
)

# The azure-devops SDK reads its location cache directory when it is imported (api-contracts.md 2.2).
os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-cache-"))
