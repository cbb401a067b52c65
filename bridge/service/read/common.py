"""What the read side's resources share: a page of a list, the window that cuts it, a view from a store
row, and a release as another resource links it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select

from bridge.store.store import Tx

Item = TypeVar("Item")
T = TypeVar("T")
MAX_PAGE = 500
MAX_OFFSET = 2**31 - 1  # beyond any list the bridge keeps; larger values overflow the databases' integers


class Page(BaseModel, Generic[Item]):
    """One page of a list: its items, how many there are in all, and where the page starts."""

    items: list[Item]
    total: int
    limit: int
    offset: int


class Window(BaseModel):
    """Which part of a list to show."""

    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    def cut(self, items: Sequence[T]) -> list[T]:
        return list(items[self.offset : self.offset + self.limit])


class LinkedRelease(BaseModel):
    """A release linked to an RFC or listing a defect."""

    component: str
    version: str
    evidence: str


View = TypeVar("View", bound=BaseModel)


def from_row(view: type[View], row: object) -> View:
    """A view read from a store row by its attributes (enums become their values)."""
    return view.model_validate(row, from_attributes=True)


def page_of(tx: Tx, query: Select[Any], window: Window, convert: Callable[[Any], T]) -> Page[T]:
    """The window's rows of `query`, each converted, with how many rows there are in all."""
    total = tx.connection.execute(
        select(func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    rows = tx.connection.execute(query.limit(window.limit).offset(window.offset))
    return Page[T](
        items=[convert(row) for row in rows], total=total, limit=window.limit, offset=window.offset
    )
