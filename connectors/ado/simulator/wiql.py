"""A WIQL subset for flat work item queries: parse `SELECT … FROM WorkItems WHERE … ORDER BY …` and run it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Union

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<field>\[[^\]]+\])
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<macro>@[A-Za-z]+)
      | (?P<op><>|!=|>=|<=|=|<|>)
      | (?P<punct>[(),+-])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)


_KEYWORDS = {"select", "from", "where", "order", "by", "and", "or", "not", "in", "asc", "desc", "asof"}


class WiqlError(ValueError):
    """The query cannot be parsed or refers to something unknown; ADO answers 400."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


@dataclass(frozen=True)
class Macro:
    """`@today - 3`, `@project`, `@me`: resolved when the query runs."""

    name: str
    offset: int = 0


Literal = Union[str, float, Macro]  # noqa: UP007 - a runtime alias


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # =, <>, >, >=, <, <=, in, not in, contains, not contains, under, not under
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # and, or
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Not:
    inner: Expr


Expr = Union[Condition, BoolOp, Not]  # noqa: UP007 - a runtime alias


@dataclass(frozen=True)
class Query:
    """A parsed flat query."""

    columns: tuple[str, ...]
    where: Expr | None
    order: tuple[tuple[str, bool], ...]  # (field, descending)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise WiqlError(f"Unexpected character. The error is caused by «{text[pos : pos + 20]}».")
        kind = match.lastgroup or ""
        tokens.append(Token(kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> Token | None:
        at = self.pos + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def word(self, *words: str) -> bool:
        """Consume the keyword sequence if it comes next."""
        for i, w in enumerate(words):
            tok = self.peek(i)
            if tok is None or tok.kind != "word" or tok.text.lower() != w:
                return False
        self.pos += len(words)
        return True

    def expect_word(self, word: str) -> None:
        if not self.word(word):
            raise WiqlError(f"Expecting '{word.upper()}'. The error is caused by «{self._near()}».")

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise WiqlError("Unexpected end of query.")
        self.pos += 1
        return tok

    def _near(self) -> str:
        tok = self.peek()
        return tok.text if tok else "end of query"

    def field(self) -> str:
        tok = self.take()
        if tok.kind == "field":
            return tok.text[1:-1].strip()
        if tok.kind == "word" and tok.text.lower() not in _KEYWORDS:
            return tok.text
        raise WiqlError(f"Expecting field name. The error is caused by «{tok.text}».")

    def query(self) -> Query:
        self.expect_word("select")
        columns = [self.field()]
        while self._punct(","):
            columns.append(self.field())
        self.expect_word("from")
        source = self.take()
        if source.text.lower() != "workitems":
            raise WiqlError(
                f"Only flat queries FROM WorkItems are supported. The error is caused by «{source.text}»."
            )
        where = self.expr() if self.word("where") else None
        order: list[tuple[str, bool]] = []
        if self.word("order", "by"):
            while True:
                name = self.field()
                descending = self.word("desc")
                if not descending:
                    self.word("asc")
                order.append((name, descending))
                if not self._punct(","):
                    break
        if self.peek() is not None:
            raise WiqlError(f"Expecting end of string. The error is caused by «{self._near()}».")
        return Query(tuple(columns), where, tuple(order))

    def _punct(self, text: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "punct" and tok.text == text:
            self.pos += 1
            return True
        return False

    def expr(self) -> Expr:
        left = self.term()
        while self.word("or"):
            left = BoolOp("or", left, self.term())
        return left

    def term(self) -> Expr:
        left = self.factor()
        while self.word("and"):
            left = BoolOp("and", left, self.factor())
        return left

    def factor(self) -> Expr:
        if self.word("not"):
            return Not(self.factor())
        if self._punct("("):
            inner = self.expr()
            if not self._punct(")"):
                raise WiqlError(f"Expecting ')'. The error is caused by «{self._near()}».")
            return inner
        return self.condition()

    def condition(self) -> Condition:
        name = self.field()
        op = self.operator()
        if op in {"in", "not in"}:
            if not self._punct("("):
                raise WiqlError(f"Expecting '('. The error is caused by «{self._near()}».")
            values = [self.value()]
            while self._punct(","):
                values.append(self.value())
            if not self._punct(")"):
                raise WiqlError(f"Expecting ')'. The error is caused by «{self._near()}».")
            return Condition(name, op, tuple(values))
        return Condition(name, op, (self.value(),))

    def operator(self) -> str:
        tok = self.peek()
        if tok is not None and tok.kind == "op":
            self.pos += 1
            return "<>" if tok.text == "!=" else tok.text
        for words in (
            ("not", "in"),
            ("in",),
            ("not", "contains"),
            ("contains",),
            ("not", "under"),
            ("under",),
        ):
            if self.word(*words):
                return " ".join(words)
        raise WiqlError(f"Expecting comparison operator. The error is caused by «{self._near()}».")

    def value(self) -> Literal:
        tok = self.take()
        if tok.kind == "string":
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "number":
            return float(tok.text)
        if tok.kind == "macro":
            offset = 0
            nxt = self.peek()
            if nxt is not None and nxt.kind == "punct" and nxt.text in "+-":
                self.pos += 1
                amount = self.take()
                if amount.kind != "number":
                    raise WiqlError(f"Expecting a number. The error is caused by «{amount.text}».")
                offset = int(float(amount.text)) * (-1 if nxt.text == "-" else 1)
            return Macro(tok.text[1:].lower(), offset)
        raise WiqlError(f"Expecting a value. The error is caused by «{tok.text}».")


def parse(text: str) -> Query:
    """Parse WIQL, or raise WiqlError with ADO-like wording."""
    return _Parser(text).query()


# --- evaluation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a query's macros and field types resolve against."""

    project: str
    me: str
    today: date
    time_precision: bool
    field_type: Callable[[str], str | None]  # reference name -> ADO field type, None if unknown
    reference_name: Callable[[str], str | None]  # reference or friendly name -> reference name


def check_fields(query: Query, ctx: Context) -> Query:
    """Resolve every field name to its reference name; an unknown one is TF51005, as ADO answers."""

    def resolve(name: str) -> str:
        ref = ctx.reference_name(name)
        if ref is None:
            raise WiqlError(
                f"TF51005: The query references a field that does not exist. The error is caused by «{name}»."
            )
        return ref

    def walk(expr: Expr) -> Expr:
        if isinstance(expr, Condition):
            return Condition(resolve(expr.field), expr.op, expr.values)
        if isinstance(expr, Not):
            return Not(walk(expr.inner))
        return BoolOp(expr.op, walk(expr.left), walk(expr.right))

    return Query(
        tuple(resolve(c) for c in query.columns),
        walk(query.where) if query.where is not None else None,
        tuple((resolve(f), d) for f, d in query.order),
    )


def run(query: Query, rows: Iterable[Mapping[str, object]], ctx: Context) -> list[int]:
    """The ids of the rows (work item fields) that match, in the query's order (else by id)."""
    compiled = _Compiled()
    matched = [row for row in rows if query.where is None or _holds(query.where, row, ctx, compiled)]
    matched.sort(key=lambda row: int(str(row["System.Id"])))
    for name, descending in reversed(query.order):
        kind = ctx.field_type(name)
        present = [r for r in matched if r.get(name) is not None]
        absent = [r for r in matched if r.get(name) is None]
        present.sort(key=_by(name, kind or "string"), reverse=descending)
        matched = present + absent if not descending else absent + present
    return [int(str(row["System.Id"])) for row in matched]


@dataclass
class _Known:
    """A condition's field type and values, resolved once per query; the values' sort keys are worked
    out at their first comparison (so a value that cannot be compared fails only when compared)."""

    kind: str
    wanted: list[Any]
    keys: dict[int, Any] = field(default_factory=dict)

    def key(self, index: int) -> Any:
        if index not in self.keys:
            self.keys[index] = _sort_key(self.wanted[index], self.kind)
        return self.keys[index]


@dataclass
class _Compiled:
    """What one query works out once, not once per row: a poller's query can hold hundreds of
    exclusions, ANDed into one long chain."""

    conditions: dict[int, _Known] = field(default_factory=dict)
    operands: dict[int, list[Expr]] = field(default_factory=dict)
    # An AND chain's `([System.Id] <> n OR [System.Rev] <> m)` operands, as the (n, m) pairs a row's
    # id and revision must not be: a set lookup instead of hundreds of comparisons per row.
    excluded: dict[int, frozenset[tuple[int, int]]] = field(default_factory=dict)


def _by(name: str, kind: str) -> Callable[[Mapping[str, object]], Any]:
    return lambda row: _sort_key(row[name], kind)


def _operands(expr: BoolOp) -> list[Expr]:
    """The operands of a chain of one operator (`a AND b AND c`), left to right, without recursion."""
    out: list[Expr] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, BoolOp) and node.op == expr.op:
            stack.append(node.right)
            stack.append(node.left)
        else:
            out.append(node)
    return out


def _holds(expr: Expr, row: Mapping[str, object], ctx: Context, compiled: _Compiled) -> bool:
    if isinstance(expr, BoolOp):
        parts = compiled.operands.get(id(expr))
        if parts is None:
            parts = _operands(expr)
            if expr.op == "and":
                pairs = {pair for part in parts if (pair := _revision_excluded(part)) is not None}
                if len(pairs) > 1:
                    parts = [part for part in parts if _revision_excluded(part) is None]
                    compiled.excluded[id(expr)] = frozenset(pairs)
            compiled.operands[id(expr)] = parts
        # Left to right with short-circuit, as the nested form evaluates.
        if expr.op == "and":
            excluded = compiled.excluded.get(id(expr))
            if excluded is not None:
                identity = row.get("System.Id"), row.get("System.Rev")
                if not all(type(value) is int for value in identity):
                    return all(_holds(part, row, ctx, compiled) for part in _operands(expr))
                if identity in excluded:
                    return False
            return all(_holds(part, row, ctx, compiled) for part in parts)
        return any(_holds(part, row, ctx, compiled) for part in parts)
    if isinstance(expr, Not):
        return not _holds(expr.inner, row, ctx, compiled)
    known = compiled.conditions.get(id(expr))
    if known is None:
        kind = ctx.field_type(expr.field) or "string"
        known = compiled.conditions[id(expr)] = _Known(kind, [_resolve(v, kind, ctx) for v in expr.values])
    return _compare(expr, row.get(expr.field), ctx, known)


def _revision_excluded(expr: Expr) -> tuple[int, int] | None:
    """(n, m) for `[System.Id] <> n OR [System.Rev] <> m` with whole numbers, else None."""
    if not (isinstance(expr, BoolOp) and expr.op == "or"):
        return None
    left, right = expr.left, expr.right
    if not (isinstance(left, Condition) and isinstance(right, Condition)):
        return None
    if (left.field, left.op, right.field, right.op) != ("System.Id", "<>", "System.Rev", "<>"):
        return None
    if len(left.values) != 1 or len(right.values) != 1:
        return None
    ident, rev = left.values[0], right.values[0]
    if not (isinstance(ident, float) and ident.is_integer() and isinstance(rev, float) and rev.is_integer()):
        return None
    return int(ident), int(rev)


def _compare(cond: Condition, actual: object, ctx: Context, known: _Known) -> bool:
    kind, wanted = known.kind, known.wanted
    have = _normalise(actual, kind, ctx)
    op = cond.op
    if op in {"in", "not in"}:
        found = any(_equal(have, known, i) for i in range(len(wanted)))
        return found if op == "in" else not found
    target = wanted[0]
    if op == "=":
        return _equal(have, known, 0)
    if op == "<>":
        return not _equal(have, known, 0)
    if op in {"contains", "not contains"}:
        inside = str(target).lower() in str(have or "").lower()
        return inside if op == "contains" else not inside
    if op in {"under", "not under"}:
        path, root = str(have or "").lower(), str(target).lower()
        under = path == root or path.startswith(root + "\\")
        return under if op == "under" else not under
    if have is None or have == "":
        return False
    left, right = _sort_key(have, kind), known.key(0)
    try:
        compare: dict[str, Callable[[Any, Any], bool]] = {
            ">": lambda a, b: bool(a > b),
            ">=": lambda a, b: bool(a >= b),
            "<": lambda a, b: bool(a < b),
            "<=": lambda a, b: bool(a <= b),
        }
        return compare[op](left, right)
    except TypeError as exc:
        raise WiqlError(f"The value «{target}» cannot be compared with field {cond.field}.") from exc


def _equal(have: object, known: _Known, index: int) -> bool:
    wanted = known.wanted[index]
    if known.kind == "identity":
        return isinstance(have, tuple) and str(wanted).lower() in have
    if have is None:
        return wanted in ("", None)
    return bool(_sort_key(have, known.kind) == known.key(index))


def _sort_key(value: object, kind: str) -> Any:
    # The common cases first (ids and revisions, text), with the results the general rules give.
    if type(value) is int and kind in {"integer", "double"}:
        return float(value)
    if type(value) is str and kind not in {"dateTime", "integer", "double"}:
        return value.lower()
    if isinstance(value, tuple):  # identity: sort by display name
        return value[0] if value else ""
    if isinstance(value, Mapping):
        return str(value.get("displayName", "")).lower()
    if isinstance(value, datetime | date):
        return value
    if kind == "dateTime":
        return parse_datetime(str(value))
    if kind in {"integer", "double"}:
        try:
            return float(str(value))
        except ValueError as exc:
            raise WiqlError(f"The value «{value}» is not a number.") from exc
    return str(value).lower()


def _normalise(actual: object, kind: str, ctx: Context) -> object:
    if actual is None:
        return None
    if kind == "identity":
        if isinstance(actual, Mapping):
            names = (str(actual.get("displayName", "")), str(actual.get("uniqueName", "")))
            combined = f"{names[0]} <{names[1]}>"
            return tuple(n.lower() for n in (*names, combined))
        return (str(actual).lower(),)
    if kind == "dateTime":
        moment = parse_datetime(str(actual))
        return moment if ctx.time_precision else moment.date()
    return actual


def _resolve(value: Literal, kind: str, ctx: Context) -> object:
    if isinstance(value, Macro):
        if value.name == "project":
            return ctx.project
        if value.name == "me":
            return ctx.me
        if value.name == "today":
            day = ctx.today + timedelta(days=value.offset)
            return datetime(day.year, day.month, day.day, tzinfo=UTC) if ctx.time_precision else day
        raise WiqlError(f"TF51011: The specified macro «@{value.name}» is not supported.")
    if kind == "dateTime":
        text = str(value)
        has_time = "T" in text or ":" in text
        if has_time and not ctx.time_precision:
            # ADO refuses a time in a date literal unless the request asks for timePrecision=true.
            raise WiqlError(
                "You cannot supply a time with the date when running a query using date precision. "
                f"The error is caused by «'{text}'»."
            )
        try:
            moment = parse_datetime(text)
        except ValueError as exc:
            raise WiqlError(f"The string «{text}» is not a valid date.") from exc
        return moment if ctx.time_precision else moment.date()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 date or date-time as ADO writes them; naive ones are UTC."""
    cleaned = text.strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(cleaned)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
