"""The sandbox tests use the official clients; the ADO SDK must not reuse a location cache."""

from __future__ import annotations

import os
import tempfile

# The azure-devops SDK reads its location cache directory when it is imported (api-contracts.md 2.2).
os.environ["AZURE_DEVOPS_CACHE_DIR"] = tempfile.mkdtemp(prefix="ado-cache-")
