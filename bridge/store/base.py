"""What every manager of the store shares: the transaction's connection and dialect-aware helpers."""

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


class Manager:
    """The queries of one table (or a few that go together), run on the connection of one transaction
    (see Store.transaction); a transaction holds one of each (`tx.outbox`, `tx.inbox`...).

    The same verb means the same on every manager: `get` one row by its key (None if absent),
    `get_many` several, `by_<field>` by another unique field, `list` rows matching optional criteria,
    `of` the rows that belong to given owners, `count`/`counts`/`stats` how many; `put`/`add` store
    unless present, `upsert` store or move forward, `save` store over what is there, `replace` make an
    owner's rows exactly these, `append` add to an append-only table, `mark_<state>` record a transition.
    """

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
