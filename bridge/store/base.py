"""What every group of store queries shares: the transaction's connection and dialect-aware helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

Insert = postgresql.Insert | sqlite.Insert

# Statements built once per dialect and run with bound parameters: building a statement for every row
# (its values, its cache key) costs more than running it.
_PREPARED: dict[tuple[str, str], Any] = {}


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a lock name (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def utcnow() -> datetime:
    """The current time, aware UTC; callers pass `now` explicitly where a test must control it."""
    return datetime.now(UTC)


class Queries:
    """A group of queries run on the connection of one transaction (see Store.transaction)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @property
    def is_postgres(self) -> bool:
        return self.connection.dialect.name == "postgresql"

    def insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that knows ON CONFLICT, in the connection's dialect."""
        return postgresql.insert(table) if self.is_postgres else sqlite.insert(table)

    def prepared(self, name: str, build: Callable[[Callable[[Table], Insert]], Any]) -> Any:
        """The statement `name`, built by `build` (given this dialect's `insert`) once per dialect; run it
        with a dict of bound parameters."""
        key = (name, self.connection.dialect.name)
        statement = _PREPARED.get(key)
        if statement is None:
            statement = _PREPARED[key] = build(self.insert)
        return statement
