"""Encoded queries (`sysparm_query`): parsing, matching and ordering, with ServiceNow's quirks."""

# The quirks kept on purpose, because the bridge must cope with them on a real instance:
#
# * A part of a query naming an unknown field, or that cannot be parsed, is dropped and the rest still
#   runs (Table API docs, `sysparm_query`: "the instance ignores the invalid part"), so a typo widens
#   the result instead of failing.
# * `!=`, `NOT IN`, `NOT LIKE`, `>`, `<` never match an empty field: empty values are NULL in the
#   database, and a SQL comparison with NULL is not true.

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from connectors.servicenow.simulator.tables import Column, FieldType, Table

_CONDITION = re.compile(
    r"^(?P<field>[a-z_][a-z0-9_.]*)"
    r"(?P<op>ISNOTEMPTY|ISEMPTY|NOT LIKE|NOT IN|STARTSWITH|ENDSWITH|LIKE|IN|BETWEEN|ANYTHING|EMPTYSTRING"
    r"|!=|>=|<=|=|>|<)"
    r"(?P<value>.*)$",
    re.DOTALL,
)
_DATE_GENERATE = re.compile(r"^javascript:\s*gs\.dateGenerate\((?P<args>.*)\)\s*$", re.DOTALL)
_QUOTED = re.compile(r"""['"]([^'"]*)['"]""")

Record = Mapping[str, str]


@dataclass(frozen=True)
class Condition:
    """`<field><operator><value>` on one column."""

    column: Column
    operator: str
    operand: str

    def matches(self, record: Record) -> bool:
        value = record.get(self.column.name, "")
        return _OPERATORS[self.operator](self.column, value, self.operand)


@dataclass(frozen=True)
class Ordering:
    column: Column
    descending: bool


@dataclass(frozen=True)
class Query:
    """A parsed encoded query: alternatives (`^NQ`) of AND-ed groups of OR-ed conditions, and ordering."""

    alternatives: tuple[tuple[tuple[Condition, ...], ...], ...]
    ordering: tuple[Ordering, ...]

    def matches(self, record: Record) -> bool:
        if not self.alternatives:
            return True
        return any(
            all(any(c.matches(record) for c in group) for group in groups) for groups in self.alternatives
        )

    def apply(self, records: Sequence[Record]) -> list[Record]:
        """The matching records, ordered; without ORDERBY they come in insertion order."""
        found = [r for r in records if self.matches(r)]
        # Sort by the last key first so the first ORDERBY is the primary one (stable sorts).
        for order in reversed(self.ordering):
            found.sort(key=_key_of(order.column), reverse=order.descending)
        return found


def parse(text: str, table: Table) -> Query:
    """Parse an encoded query against a table's columns; invalid parts are dropped, never raised."""
    alternatives: list[tuple[tuple[Condition, ...], ...]] = []
    groups: list[list[Condition]] = []
    ordering: list[Ordering] = []
    for part in _tokens(text):
        token = part
        if token.startswith("NQ"):
            _close(groups, alternatives)
            groups = []
            token = token[2:]
        if token.startswith("ORDERBYDESC") or token.startswith("ORDERBY"):
            descending = token.startswith("ORDERBYDESC")
            column = table.column(token.removeprefix("ORDERBYDESC" if descending else "ORDERBY"))
            if column is not None:
                ordering.append(Ordering(column, descending))
            continue
        if token in {"", "EQ"} or token.startswith("GROUPBY"):
            continue
        either = token.startswith("OR") and _condition(token[2:], table) is not None
        condition = _condition(token[2:] if either else token, table)
        if condition is None:
            continue
        if either and groups:
            groups[-1].append(condition)
        else:
            groups.append([condition])
    _close(groups, alternatives)
    return Query(tuple(alternatives), tuple(ordering))


def _close(groups: list[list[Condition]], alternatives: list[tuple[tuple[Condition, ...], ...]]) -> None:
    if groups:
        alternatives.append(tuple(tuple(g) for g in groups))


def _tokens(text: str) -> list[str]:
    """Split on `^`; a doubled `^^` is a literal caret inside a value."""
    placeholder = "\x00"
    return [part.replace(placeholder, "^") for part in text.replace("^^", placeholder).split("^")]


def _condition(token: str, table: Table) -> Condition | None:
    found = _CONDITION.match(token)
    if found is None:
        return None
    column = table.column(found["field"])
    if column is None:
        return None
    return Condition(column, found["op"], _operand(found["value"]))


def _operand(text: str) -> str:
    """A literal, or the date a `javascript:gs.dateGenerate('d','t')` call makes (the API user is UTC)."""
    generated = _DATE_GENERATE.match(text)
    if generated is None:
        return text
    return " ".join(_QUOTED.findall(generated["args"]))


def _numeric(column: Column) -> bool:
    return column.kind is FieldType.INTEGER or column.numeric


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(column: Column, value: str, operand: str) -> int | None:
    """-1, 0 or 1 comparing a stored value with an operand; None when they cannot be compared."""
    if value == "":
        return None
    if _numeric(column):
        left, right = _number(value), _number(operand)
        if left is None or right is None:
            return None
        return (left > right) - (left < right)
    return (value > operand) - (value < operand)


def _key_of(column: Column) -> Callable[[Record], tuple[int, float, str]]:
    return lambda record: _sort_key(column, record.get(column.name, ""))


def _sort_key(column: Column, value: str) -> tuple[int, float, str]:
    # Empty (NULL) values sort first ascending, as the database puts NULLs first.
    if value == "":
        return (0, 0.0, "")
    number = _number(value) if _numeric(column) else None
    return (1, number if number is not None else 0.0, value)


def _equal(column: Column, value: str, operand: str) -> bool:
    if _numeric(column) and value != "":
        return _compare(column, value, operand) == 0
    return value == operand


def _between(column: Column, value: str, operand: str) -> bool:
    low, _, high = operand.partition("@")
    lower, upper = _compare(column, value, _operand(low)), _compare(column, value, _operand(high))
    return lower is not None and upper is not None and lower >= 0 and upper <= 0


def _ordered(test: Callable[[int], bool]) -> Callable[[Column, str, str], bool]:
    def check(column: Column, value: str, operand: str) -> bool:
        result = _compare(column, value, operand)
        return result is not None and test(result)

    return check


_OPERATORS: dict[str, Callable[[Column, str, str], bool]] = {
    "=": _equal,
    "!=": lambda c, v, o: v != "" and not _equal(c, v, o),
    ">": _ordered(lambda r: r > 0),
    ">=": _ordered(lambda r: r >= 0),
    "<": _ordered(lambda r: r < 0),
    "<=": _ordered(lambda r: r <= 0),
    # CONTAINS-style operators follow the database's case-insensitive collation.
    "LIKE": lambda c, v, o: o.lower() in v.lower(),
    "NOT LIKE": lambda c, v, o: v != "" and o.lower() not in v.lower(),
    "STARTSWITH": lambda c, v, o: v.lower().startswith(o.lower()),
    "ENDSWITH": lambda c, v, o: v.lower().endswith(o.lower()),
    "IN": lambda c, v, o: any(_equal(c, v, item) for item in o.split(",")),
    "NOT IN": lambda c, v, o: v != "" and not any(_equal(c, v, item) for item in o.split(",")),
    "ISEMPTY": lambda c, v, o: v == "",
    "EMPTYSTRING": lambda c, v, o: v == "",
    "ISNOTEMPTY": lambda c, v, o: v != "",
    "ANYTHING": lambda c, v, o: True,
    "BETWEEN": _between,
}
