"""The expression language: values worked out by hand, Kleene truth tables, refusals."""

from __future__ import annotations

import builtins
import math

import numpy as np
import pandas as pd
import pytest

from analysis.expression import ExpressionError, evaluate, infer, parse

NAN = float("nan")
T, F, M = True, False, None  # true, false, missing


def run(expr: str, **columns: list) -> list:
    """Evaluate on a frame of ``columns``: numbers as floats (None = missing), text as text."""
    frame = pd.DataFrame(columns)
    types = {
        k: "text" if any(isinstance(v, str) for v in vals) else "number"
        for k, vals in columns.items()
    }
    tree = parse(expr)
    infer(tree, types)
    result = evaluate(tree, frame, types)
    out = []
    for value, missing in zip(result.values, result.missing, strict=True):
        if missing:
            out.append(None)
        elif result.kind == "condition":
            out.append(bool(value))
        elif result.kind == "number":
            out.append(float(value))
        else:
            out.append(value)
    return out


# ------------------------------------------------------------------ arithmetic


def test_arithmetic_by_hand():
    # BMI of 70 kg at 175 cm: 70 / 1.75^2 = 22.857142...
    assert run("weight / (height / 100) ** 2", weight=[70.0], height=[175.0]) == [
        pytest.approx(22.857142857)
    ]
    assert run("a + 2 * 3", a=[1.0]) == [7.0]
    assert run("(a + 2) * 3", a=[1.0]) == [9.0]
    assert run("a - 2 - 3", a=[10.0]) == [5.0]  # left to right
    assert run("a / 2 / 5", a=[100.0]) == [10.0]
    assert run("2 ** 3 ** 2 + a", a=[0.0]) == [512.0]  # right to left, as in Python
    assert run("-a ** 2", a=[3.0]) == [-9.0]  # power before unary minus
    assert run("a ** -1", a=[4.0]) == [0.25]
    assert run("--a", a=[4.0]) == [4.0]
    assert run("a * 1e-3 + .5", a=[2000.0]) == [2.5]


def test_arithmetic_missing_and_non_finite_results_are_missing():
    assert run("a + b", a=[1.0, None], b=[None, 2.0]) == [None, None]
    assert run("a / b", a=[1.0, 0.0, -1.0, 6.0], b=[0.0, 0.0, 0.0, 3.0]) == [None, None, None, 2.0]
    assert run("a ** 0.5", a=[-8.0, 9.0]) == [None, 3.0]
    assert run("a ** 1000", a=[10.0]) == [None]  # overflow
    # a missing intermediate never turns into a value later on
    assert run("a / b > 1", a=[1.0], b=[0.0]) == [None]


# ------------------------------------------------------------------ comparisons


def test_comparisons_with_a_missing_operand_are_missing_not_false():
    a = [1.0, 2.0, None]
    assert run("a == 2", a=a) == [F, T, M]
    assert run("a != 2", a=a) == [T, F, M]
    assert run("a < 2", a=a) == [T, F, M]
    assert run("a <= 2", a=a) == [T, T, M]
    assert run("a > 1", a=a) == [F, T, M]
    assert run("a >= 1", a=a) == [T, T, M]
    assert run("2 == a", a=a) == [F, T, M]


def test_in_between_and_chained_comparisons():
    a = [1.0, 2.0, 3.0, None]
    assert run("a in (2, 3)", a=a) == [F, T, T, M]
    assert run("a in [2, 3,]", a=a) == [F, T, T, M]
    assert run("a not in (2, 3)", a=a) == [T, F, F, M]
    assert run("a in (-1, 1)", a=a) == [T, F, F, M]
    age = [17.0, 18.0, 40.0, 65.0, 66.0, None]
    assert run("age between 18 and 65", age=age) == [F, T, T, T, F, M]  # inclusive
    assert run("age not between 18 and 65", age=age) == [T, F, F, F, T, M]
    assert run("18 <= age < 65", age=age) == [F, T, T, F, F, M]
    # between binds its own 'and': the rest is an ordinary conjunction
    assert run("age between 18 and 65 and age > 30", age=age) == [F, F, T, T, F, M]


def test_between_with_a_missing_bound_follows_kleene():
    # x between lo and hi == (lo <= x) and (x <= hi): x=5, lo missing, hi=3 -> false
    assert run("x between lo and hi", x=[5.0, 2.0], lo=[None, None], hi=[3.0, 3.0]) == [F, M]


def test_text_comparisons():
    sex = ["F", "M", None]
    assert run("sex == 'F'", sex=sex) == [T, F, M]
    assert run('sex in ("M", "X")', sex=sex) == [F, T, M]
    assert run("sex < 'G'", sex=sex) == [T, F, M]
    assert run('`sex` != "F"', sex=sex) == [F, T, M]


def test_is_missing_is_never_missing():
    a = [1.0, None]
    assert run("a is missing", a=a) == [F, T]
    assert run("a is not missing", a=a) == [T, F]
    assert run("(a > 0) is missing", a=a) == [F, T]
    assert run("a is missing or a > 0", a=a) == [T, T]


# ------------------------------------------------------------- Kleene logic

# (a, b, a and b, a or b): the three-valued truth table of SQL and R
KLEENE = [
    (T, T, T, T),
    (T, F, F, T),
    (T, M, M, T),
    (F, T, F, T),
    (F, F, F, F),
    (F, M, F, M),
    (M, T, M, T),
    (M, F, F, M),
    (M, M, M, M),
]


def _flag(v: bool | None) -> float:
    return NAN if v is None else float(v)


def test_and_or_truth_tables():
    a = [_flag(row[0]) for row in KLEENE]
    b = [_flag(row[1]) for row in KLEENE]
    assert run("a == 1 and b == 1", a=a, b=b) == [row[2] for row in KLEENE]
    assert run("a == 1 or b == 1", a=a, b=b) == [row[3] for row in KLEENE]


def test_not_truth_table():
    assert run("not (a == 1)", a=[1.0, 0.0, None]) == [F, T, M]
    assert run("not not a == 1", a=[1.0, 0.0, None]) == [T, F, M]


def test_precedence_not_and_or():
    # not > and > or:  a or b and not c  ==  a or (b and (not c))
    rows = [(x, y, z) for x in (0.0, 1.0) for y in (0.0, 1.0) for z in (0.0, 1.0)]
    a, b, c = ([r[i] for r in rows] for i in range(3))
    expected = [bool(x) or (bool(y) and not z) for x, y, z in rows]
    assert run("a == 1 or b == 1 and not c == 1", a=a, b=b, c=c) == expected


def test_conditions_compare_with_each_other():
    assert run("(a > 0) == (b > 0)", a=[1.0, 1.0, None], b=[2.0, -2.0, 1.0]) == [T, F, M]


# ---------------------------------------------------------------- refusals

REFUSED = [
    ("__import__('os').system('touch X')", 11, "function calls are not allowed"),
    ("open('/etc/passwd')", 5, "function calls are not allowed"),
    ("a.__class__", 2, "attribute access is not allowed"),
    ("a[0]", 2, "subscripts are not allowed"),
    ("(a)[0]", 4, "subscripts are not allowed"),
    ("lambda: 1", 1, "'lambda' is not part of the expression language"),
    ("[x for x in a]", 1, "a list is only allowed after 'in'"),
    ("(x for x in a)", 4, "'for' is not part of the expression language"),
    ("a if b else c", 3, "'if' is not part of the expression language"),
    ("import os", 1, "'import' is not part of the expression language"),
    ("a = 1", 3, "use '==' to compare"),
    ("a == 1; b", 7, "only one expression is allowed"),
    ("a & b", 3, "write 'and'"),
    ("a // 2", 3, "'//' is not supported"),
    ("{a: 1}", 1, "no sets or dictionaries"),
    ("a == ", 6, "the expression ends too early"),
    ("(a == 1", 8, "expected ')'"),
    ("a == 1)", 7, "unexpected ')'"),
    ("a in b", 6, "'in' takes a list of values"),
    ("a in (b, 1)", 7, "only numbers and quoted text may be listed"),
    ("a in ()", 7, "the list after 'in' is empty"),
    ("a is 1", 6, "expected 'missing' after 'is'"),
    ("a between 1, 2", 12, "expected 'and' between the two bounds"),
    ("'abc", 1, "text starting with ' is not closed"),
    ("`abc", 1, "column name starting with ` is not closed"),
    ("1abc", 1, "'1abc' is not a number"),
    ("", 1, "the expression is empty"),
    ("a b", 3, "expected an operator or the end of the expression"),
]


@pytest.mark.parametrize(("expr", "position", "text"), REFUSED, ids=[r[0] for r in REFUSED])
def test_anything_outside_the_grammar_is_refused_with_its_position(expr, position, text):
    with pytest.raises(ExpressionError) as err:
        parse(expr)
    assert text in err.value.message
    assert err.value.position == position
    assert "\n" not in err.value.message


TYPE_ERRORS = [
    ("a + s", 5, "'+' needs numbers on both sides, found a text"),
    ("s == 1", 1, "'==' compares a text with a number"),
    ("a and b", 1, "'and' needs a condition on both sides, found a number"),
    ("not a", 5, "'not' needs a condition"),
    ("-s", 2, "'-' needs a number"),
    ("a in (1, 'x')", 10, "must hold numbers only"),
    ("(a > 1) < (b > 1)", 2, "cannot order conditions"),
    ("a between 'x' and 2", 11, "the bounds of 'between' must be numbers"),
]


@pytest.mark.parametrize(("expr", "position", "text"), TYPE_ERRORS, ids=[t[0] for t in TYPE_ERRORS])
def test_mixed_types_are_refused(expr, position, text):
    with pytest.raises(ExpressionError) as err:
        infer(parse(expr), {"a": "number", "b": "number", "s": "text"})
    assert text in err.value.message
    assert err.value.position == position


def test_nothing_is_handed_to_python_eval(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec/compile called")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    assert run("(a + 1) * 2 > 3 and s in ('x')", a=[1.0, 0.0], s=["x", "x"]) == [T, F]


def test_a_large_frame_is_evaluated_column_wise():
    n = 200_000
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"w": rng.uniform(40, 120, n), "h": rng.uniform(140, 200, n)})
    frame.loc[::10, "h"] = np.nan
    result = evaluate(parse("w / (h / 100) ** 2"), frame, {"w": "number", "h": "number"})
    expected = frame["w"] / (frame["h"] / 100) ** 2
    np.testing.assert_allclose(result.values, expected.to_numpy(), equal_nan=True)
    assert result.missing.sum() == math.ceil(n / 10)
