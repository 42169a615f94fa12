"""A small, safe expression language for derived variables.

A study file may compute a variable from others with text such as ``status == 2``
or ``weight / (height / 100) ** 2``. That text is user input, so it is never given
to Python's ``eval``: a tokenizer and recursive-descent parser below accept only
this grammar, anything else (calls, attributes, subscripts, lambdas,
comprehensions, assignments) is refused with the 1-based position of the first
character that does not fit.

Grammar, loosest binding first::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum (cmp sum)*                     cmp: == != < <= > >=
                | sum ["not"] "between" sum "and" sum  (inclusive on both ends)
                | sum ["not"] "in" list
                | sum "is" ["not"] "missing"
    sum        := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := ("-" | "+") unary | power
    power      := atom ["**" unary]                  (-2 ** 2 is -4, as in Python)
    atom       := number | 'text' | "text" | name | `any column name` | "(" expr ")"
    list       := "(" literal ("," literal)* [","] ")"  or the same in [ ]

Missing values (the rules SQL and R use): arithmetic and comparisons with a missing
operand are missing, and so is arithmetic without a finite result (division by zero,
overflow, a negative number to a fractional power); ``and``, ``or`` and ``not``
follow Kleene's three-valued logic (``False and missing`` is False, ``True or
missing`` is True, otherwise missing); ``x is missing`` is never missing.
``a < b < c`` means ``a < b and b < c``; ``x between a and b`` means
``a <= x and x <= b``.

Evaluation is column-wise with numpy, so a million rows cost a few array operations.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:  # parsing a study file's expressions needs no pandas (the report)
    import pandas as pd

__all__ = [
    "ExpressionError",
    "Node",
    "Result",
    "evaluate",
    "infer",
    "literal_codes",
    "names",
    "parse",
]

#: Types an expression value can have: a number, text, or a condition (true/false).
NUM, TEXT, BOOL = "number", "text", "condition"

KEYWORDS = frozenset({"and", "or", "not", "in", "between", "is", "missing"})
# Python's own keywords (lambda, import, for, ...) are not names here: refusing them
# by name gives a clearer message than a syntax error further on.
_RESERVED = frozenset(keyword.kwlist) - KEYWORDS


class ExpressionError(ValueError):
    """The expression does not fit the grammar or the columns it reads.

    ``position`` is the 1-based character where the problem starts.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# ----------------------------------------------------------------------- tree


@dataclass(frozen=True)
class Node:
    pos: int  # 1-based position of the node's first character


@dataclass(frozen=True)
class Number(Node):
    value: int | float


@dataclass(frozen=True)
class Text(Node):
    value: str


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True)
class Arith(Node):
    op: str  # + - * / **
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare(Node):
    op: str  # == != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    values: tuple[Number | Text, ...]
    negated: bool


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True)
class IsMissing(Node):
    operand: Node
    negated: bool


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class Logic(Node):
    op: str  # and / or
    left: Node
    right: Node


# ------------------------------------------------------------------ tokenizer


class _Token(NamedTuple):
    kind: str  # num, text, name, kw, op, end
    value: str | int | float
    pos: int


_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[^\W\d]\w*")
_OPERATORS = ("**", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",")
_HINTS = {
    "=": "use '==' to compare",
    ".": "attribute access is not allowed",
    "&": "write 'and'",
    "|": "write 'or'",
    "~": "write 'not'",
    "!": "write 'not', or '!=' for 'not equal'",
    "%": "'%' is not supported",
    ":": "':' is not allowed (no lambdas, slices or dictionaries)",
    "{": "'{' is not allowed (no sets or dictionaries)",
    ";": "only one expression is allowed",
    "\\": "'\\' is not allowed",
}


def _tokens(text: str) -> Iterator[_Token]:
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        pos = i + 1
        if ch.isspace():
            i += 1
        elif ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            m = _NUMBER.match(text, i)
            assert m is not None
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                word = re.match(r"[\w.]+", text[i:])
                raise ExpressionError(f"'{word.group(0) if word else ch}' is not a number", pos)
            raw = m.group(0)
            yield _Token("num", float(raw) if any(c in raw for c in ".eE") else int(raw), pos)
            i = end
        elif ch in "'\"":
            end = text.find(ch, i + 1)
            newline = text.find("\n", i + 1)
            if end < 0 or 0 <= newline < end:
                raise ExpressionError(f"text starting with {ch} is not closed", pos)
            yield _Token("text", text[i + 1 : end], pos)
            i = end + 1
        elif ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ExpressionError("column name starting with ` is not closed", pos)
            if end == i + 1:
                raise ExpressionError("empty column name ``", pos)
            yield _Token("name", text[i + 1 : end], pos)
            i = end + 1
        elif m := _NAME.match(text, i):
            word = m.group(0)
            if word in _RESERVED:
                raise ExpressionError(
                    f"'{word}' is not part of the expression language "
                    f"(a column of that name is written `{word}`)",
                    pos,
                )
            yield _Token("kw" if word in KEYWORDS else "name", word, pos)
            i = m.end()
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op == "/" and text.startswith("//", i):
                raise ExpressionError("'//' is not supported (use '/')", pos)
            if op is None:
                hint = _HINTS.get(ch, "not allowed in an expression")
                raise ExpressionError(f"unexpected '{ch}': {hint}", pos)
            yield _Token("op", op, pos)
            i += len(op)
    yield _Token("end", "", n + 1)


# --------------------------------------------------------------------- parser

_COMPARE = ("==", "!=", "<", "<=", ">", ">=")


class _Parser:
    """Reads tokens lazily, so the first problem in reading order is the one reported."""

    def __init__(self, text: str) -> None:
        self.source = _tokens(text)
        self.ahead: list[_Token] = []

    def peek(self, k: int = 0) -> _Token:
        while len(self.ahead) <= k:
            if self.ahead and self.ahead[-1].kind == "end":
                return self.ahead[-1]
            self.ahead.append(next(self.source))
        return self.ahead[k]

    @property
    def tok(self) -> _Token:
        return self.peek()

    def at(self, kind: str, value: object = None) -> bool:
        t = self.tok
        return t.kind == kind and (value is None or t.value == value)

    def next_is(self, kind: str, value: object) -> bool:
        t = self.peek(1)
        return t.kind == kind and t.value == value

    def take(self) -> _Token:
        t = self.tok
        if t.kind != "end":
            self.ahead.pop(0)
        return t

    def expect(self, kind: str, value: object, what: str) -> _Token:
        if not self.at(kind, value):
            raise self.unexpected(f"expected {what}")
        return self.take()

    def unexpected(self, why: str) -> ExpressionError:
        t = self.tok
        if t.kind == "end":
            return ExpressionError(f"the expression ends too early: {why}", t.pos)
        shown = f"'{t.value}'" if t.kind != "text" else f"text '{t.value}'"
        return ExpressionError(f"unexpected {shown}: {why}", t.pos)

    def parse(self) -> Node:
        if self.at("end"):
            raise ExpressionError("the expression is empty", 1)
        node = self.or_()
        if not self.at("end"):
            raise self.unexpected("expected an operator or the end of the expression")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("kw", "or"):
            pos = self.take().pos
            node = Logic(pos, "or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("kw", "and"):
            pos = self.take().pos
            node = Logic(pos, "and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.at("kw", "not"):
            pos = self.take().pos
            return Not(pos, self.not_())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        negated = self.at("kw", "not") and (
            self.next_is("kw", "between") or self.next_is("kw", "in")
        )
        if negated:
            self.take()
        if self.at("kw", "between"):
            self.take()
            low = self.sum()
            self.expect("kw", "and", "'and' between the two bounds of 'between'")
            return Between(left.pos, left, low, self.sum(), negated)
        if self.at("kw", "in"):
            self.take()
            return InList(left.pos, left, self.literal_list(), negated)
        if self.at("kw", "is"):
            self.take()
            is_not = self.at("kw", "not")
            if is_not:
                self.take()
            self.expect("kw", "missing", "'missing' after 'is' (the only test 'is' makes)")
            return IsMissing(left.pos, left, is_not)
        node: Node = left
        while self.at("op") and self.tok.value in _COMPARE:
            op = str(self.take().value)
            right = self.sum()
            step = Compare(left.pos, op, left, right)
            node = step if node is left else Logic(step.pos, "and", node, step)
            left = right
        return node

    def literal_list(self) -> tuple[Number | Text, ...]:
        if not (self.at("op", "(") or self.at("op", "[")):
            raise self.unexpected("'in' takes a list of values, e.g. in (1, 2)")
        close = ")" if self.take().value == "(" else "]"
        values: list[Number | Text] = []
        while not self.at("op", close):
            values.append(self.literal())
            if not self.at("op", close):
                self.expect("op", ",", f"',' or '{close}'")
        if not values:
            raise self.unexpected("the list after 'in' is empty")
        self.take()
        return tuple(values)

    def literal(self) -> Number | Text:
        sign = 1
        start = self.tok.pos
        while self.at("op", "-") or self.at("op", "+"):
            sign *= -1 if self.take().value == "-" else 1
        t = self.tok
        if t.kind == "num":
            self.take()
            return Number(start, sign * t.value)  # type: ignore[operator]
        if t.kind == "text" and sign == 1 and start == t.pos:
            self.take()
            return Text(t.pos, str(t.value))
        raise self.unexpected("only numbers and quoted text may be listed after 'in'")

    def sum(self) -> Node:
        node = self.term()
        while self.at("op", "+") or self.at("op", "-"):
            t = self.take()
            node = Arith(t.pos, str(t.value), node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at("op", "*") or self.at("op", "/"):
            t = self.take()
            node = Arith(t.pos, str(t.value), node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("op", "-"):
            pos = self.take().pos
            return Negate(pos, self.unary())
        if self.at("op", "+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.at("op", "**"):
            t = self.take()
            return Arith(t.pos, "**", base, self.unary())
        return base

    def atom(self) -> Node:
        t = self.tok
        if t.kind == "num":
            node: Node = Number(t.pos, t.value)  # type: ignore[arg-type]
        elif t.kind == "text":
            node = Text(t.pos, str(t.value))
        elif t.kind == "name":
            node = Name(t.pos, str(t.value))
        elif t.kind == "op" and t.value == "(":
            self.take()
            inner = self.or_()
            self.expect("op", ")", "')'")
            return self.no_trailer(inner)
        elif t.kind == "op" and t.value == "[":
            raise self.unexpected("a list is only allowed after 'in'")
        else:
            raise self.unexpected("expected a number, quoted text, a column name or '('")
        self.take()
        return self.no_trailer(node)

    def no_trailer(self, node: Node) -> Node:
        if self.at("op", "("):
            raise self.unexpected("function calls are not allowed")
        if self.at("op", "["):
            raise self.unexpected("subscripts are not allowed")
        return node


def parse(text: str) -> Node:
    """The expression tree of ``text``; ExpressionError if it is not in the grammar."""
    if not isinstance(text, str):
        raise ExpressionError("an expression must be text", 1)
    return _Parser(text).parse()


# ------------------------------------------------------------ tree inspection


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Negate | Not | IsMissing):
        return (node.operand,)
    if isinstance(node, Arith | Compare | Logic):
        return (node.left, node.right)
    if isinstance(node, InList):
        return (node.operand, *node.values)
    if isinstance(node, Between):
        return (node.operand, node.low, node.high)
    return ()


def names(node: Node) -> list[Name]:
    """Every column the expression reads, in the order written (repeats included)."""
    found = [node] if isinstance(node, Name) else []
    for child in _children(node):
        found += names(child)
    return found


def literal_codes(node: Node) -> Iterator[tuple[str, Number | Text]]:
    """(column, literal) for every ``column == literal``, ``!=`` and ``in``: code checks."""
    if isinstance(node, Compare) and node.op in ("==", "!="):
        for a, b in ((node.left, node.right), (node.right, node.left)):
            if isinstance(a, Name) and isinstance(b, Number | Text):
                yield a.name, b
    if isinstance(node, InList) and isinstance(node.operand, Name):
        for value in node.values:
            yield node.operand.name, value
    for child in _children(node):
        yield from literal_codes(child)


# --------------------------------------------------------------------- types


def infer(node: Node, types: Mapping[str, str]) -> str:
    """The type of ``node`` (number, text or condition), refusing mixed operands.

    ``types`` gives each column's type; every name must be in it.
    """
    if isinstance(node, Number):
        return NUM
    if isinstance(node, Text):
        return TEXT
    if isinstance(node, Name):
        if node.name not in types:
            raise ExpressionError(f"'{node.name}' is not a declared variable", node.pos)
        return types[node.name]
    if isinstance(node, Negate):
        _need(node.operand, types, (NUM,), "'-' needs a number")
        return NUM
    if isinstance(node, Arith):
        for side in (node.left, node.right):
            _need(side, types, (NUM,), f"'{node.op}' needs numbers on both sides")
        return NUM
    if isinstance(node, Compare):
        left, right = infer(node.left, types), infer(node.right, types)
        allowed = (NUM, TEXT, BOOL) if node.op in ("==", "!=") else (NUM, TEXT)
        if left != right or left not in allowed:
            raise ExpressionError(
                f"'{node.op}' compares a {left} with a {right}"
                if left != right
                else f"'{node.op}' cannot order conditions",
                node.pos,
            )
        return BOOL
    if isinstance(node, InList):
        kind = _need(node.operand, types, (NUM, TEXT), "'in' needs a number or text")
        for value in node.values:
            _need(value, types, (kind,), f"the list after 'in' must hold {kind}s only")
        return BOOL
    if isinstance(node, Between):
        kind = _need(node.operand, types, (NUM, TEXT), "'between' needs a number or text")
        for bound in (node.low, node.high):
            _need(bound, types, (kind,), f"the bounds of 'between' must be {kind}s")
        return BOOL
    if isinstance(node, IsMissing):
        infer(node.operand, types)
        return BOOL
    if isinstance(node, Not):
        _need(node.operand, types, (BOOL,), "'not' needs a condition (e.g. not (x == 1))")
        return BOOL
    if isinstance(node, Logic):
        for side in (node.left, node.right):
            _need(side, types, (BOOL,), f"'{node.op}' needs a condition on both sides")
        return BOOL
    raise ExpressionError(f"unsupported expression {type(node).__name__}", node.pos)


def _need(node: Node, types: Mapping[str, str], allowed: tuple[str, ...], why: str) -> str:
    kind = infer(node, types)
    if kind not in allowed:
        raise ExpressionError(f"{why}, found a {kind}", node.pos)
    return kind


# ----------------------------------------------------------------- evaluation


class Result(NamedTuple):
    """An evaluated expression: one value per row and where it is missing.

    ``values`` is float (NaN where missing) for numbers, object for text and bool
    for conditions (False where missing).
    """

    kind: str
    values: np.ndarray
    missing: np.ndarray


class _Num(NamedTuple):
    x: np.ndarray | float  # NaN = missing


class _Text(NamedTuple):
    x: np.ndarray | str  # object array of str ("" where missing)
    miss: np.ndarray | bool


class _Bool(NamedTuple):
    val: np.ndarray  # False where missing
    miss: np.ndarray


_Value = _Num | _Text | _Bool
_ORDER: dict[str, Callable[[object, object], object]] = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def evaluate(node: Node, frame: pd.DataFrame, types: Mapping[str, str]) -> Result:
    """``node`` on every row of ``frame``; columns are read as ``types`` declares them."""
    n = len(frame)
    cache: dict[str, _Value] = {}

    def column(name: str) -> _Value:
        if name not in cache:
            cache[name] = _column(frame[name], types[name])
        return cache[name]

    value = _eval(node, column, n)
    if isinstance(value, _Num):
        x = _full(value.x, n, float)
        return Result(NUM, x, np.isnan(x))
    if isinstance(value, _Text):
        miss = _full(value.miss, n, bool)
        x = _full(value.x, n, object).copy()
        x[miss] = np.nan
        return Result(TEXT, x, miss)
    return Result(BOOL, value.val, value.miss)


def _full(x: np.ndarray | float | str | bool, n: int, dtype: type) -> np.ndarray:
    if isinstance(x, np.ndarray) and x.shape == (n,) and x.dtype == np.dtype(dtype):
        return x
    out = np.empty(n, dtype=dtype)
    out[:] = x
    return out


def _column(series: pd.Series, kind: str) -> _Value:
    if kind == NUM:
        import pandas as pd  # the caller's frame has it loaded

        x = pd.to_numeric(series, errors="coerce")
        return _Num(x.to_numpy(dtype=float, na_value=np.nan))
    miss = series.isna().to_numpy()
    text = series.astype(object).to_numpy(dtype=object)
    text = np.where(miss, "", text).astype(str).astype(object)
    return _Text(text, miss)


def _eval(node: Node, column: Callable[[str], _Value], n: int) -> _Value:
    if isinstance(node, Number):
        return _Num(float(node.value))
    if isinstance(node, Text):
        return _Text(node.value, False)
    if isinstance(node, Name):
        return column(node.name)
    if isinstance(node, Negate):
        return _Num(-_num(node.operand, column, n))
    if isinstance(node, Arith):
        return _Num(_arith(node.op, _num(node.left, column, n), _num(node.right, column, n)))
    if isinstance(node, Compare):
        return _compare(node.op, _eval(node.left, column, n), _eval(node.right, column, n), n)
    if isinstance(node, InList):
        return _in(node, _eval(node.operand, column, n), n)
    if isinstance(node, Between):
        x, lo, hi = (_eval(v, column, n) for v in (node.operand, node.low, node.high))
        inside = _and(_compare("<=", lo, x, n), _compare("<=", x, hi, n))
        return _not(inside) if node.negated else inside
    if isinstance(node, IsMissing):
        miss = _full(_missing(_eval(node.operand, column, n)), n, bool)
        return _Bool(~miss if node.negated else miss.copy(), np.zeros(n, bool))
    if isinstance(node, Not):
        return _not(_bool(node.operand, column, n))
    if isinstance(node, Logic):
        left, right = _bool(node.left, column, n), _bool(node.right, column, n)
        return _and(left, right) if node.op == "and" else _or(left, right)
    raise TypeError(f"unsupported node {type(node).__name__}")


def _num(node: Node, column: Callable[[str], _Value], n: int) -> np.ndarray | float:
    value = _eval(node, column, n)
    assert isinstance(value, _Num)
    return value.x


def _bool(node: Node, column: Callable[[str], _Value], n: int) -> _Bool:
    value = _eval(node, column, n)
    assert isinstance(value, _Bool)
    return value


def _arith(op: str, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray | float:
    """Arithmetic whose non-finite results (x/0, overflow, (-8)**0.5) are missing."""
    with np.errstate(all="ignore"):
        if op == "+":
            out = np.add(a, b)
        elif op == "-":
            out = np.subtract(a, b)
        elif op == "*":
            out = np.multiply(a, b)
        elif op == "/":
            out = np.divide(a, np.where(np.equal(b, 0), np.nan, b))
        else:
            out = np.power(np.asarray(a, float), b)
    out = np.where(np.isfinite(out), out, np.nan)
    return float(out) if out.ndim == 0 else out


def _missing(value: _Value) -> np.ndarray | bool:
    if isinstance(value, _Num):
        return np.isnan(value.x)
    return value.miss


def _compare(op: str, a: _Value, b: _Value, n: int) -> _Bool:
    miss = _full(np.logical_or(_missing(a), _missing(b)), n, bool)
    if isinstance(a, _Bool) and isinstance(b, _Bool):
        # a condition compared with a condition (== / != only): equal truth values
        same = a.val == b.val
        val = same if op == "==" else ~same
    else:
        val = _full(_ORDER[op](a.x, b.x), n, bool)  # type: ignore[union-attr]
    return _Bool(val & ~miss, miss)


def _in(node: InList, operand: _Value, n: int) -> _Bool:
    values = [v.value for v in node.values]
    if isinstance(operand, _Num):
        found = np.isin(operand.x, np.asarray(values, float))
    else:
        found = np.isin(operand.x, np.asarray(values, object))  # type: ignore[union-attr]
    miss = _full(_missing(operand), n, bool)
    found = _full(found, n, bool)
    val = ~found if node.negated else found
    return _Bool(val & ~miss, miss)


def _not(a: _Bool) -> _Bool:
    return _Bool(~a.val & ~a.miss, a.miss)


def _and(a: _Bool, b: _Bool) -> _Bool:
    false = (~a.val & ~a.miss) | (~b.val & ~b.miss)
    miss = ~false & (a.miss | b.miss)
    return _Bool(~false & ~miss, miss)


def _or(a: _Bool, b: _Bool) -> _Bool:
    true = a.val | b.val
    miss = ~true & (a.miss | b.miss)
    return _Bool(true, miss)
