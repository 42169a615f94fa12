"""Derivations refused when the study is loaded: one line naming variable, key and problem."""

from __future__ import annotations

import pytest

from analysis.derive import _KINDS
from analysis.derive_check import known_kinds
from analysis.errors import StudyFileError

STATUS = {
    "name": "status",
    "label": "Status",
    "type": "categorical",
    "codes": {0: "censored", 1: "transplant", 2: "dead"},
}
AGE = {"name": "age", "label": "Age", "type": "continuous"}
SEX = {"name": "sex", "label": "Sex", "type": "categorical", "codes": {"M": "Male", "F": "Female"}}
PID = {"name": "pid", "label": "Patient", "type": "id"}
DOB = {"name": "dob", "label": "Date of birth", "type": "date", "identifier": True}
BASE = [PID, DOB, STATUS, AGE, SEX]


def dead(derive: dict, **extra) -> dict:
    return {
        "name": "dead",
        "label": "Dead",
        "type": "binary",
        "codes": {0: "No", 1: "Yes"},
        "derive": derive,
        **extra,
    }


def refused(make_study, variables: list[dict]) -> str:
    with pytest.raises(StudyFileError) as err:
        make_study(variables)
    message = str(err.value)
    assert "\n" not in message
    return message.split(": ", 1)[1]  # without the file name


# ------------------------------------------------------------------ the kind


def test_unknown_kind_is_one_plain_line(make_study):
    message = refused(make_study, [*BASE, dead({"kind": "formula", "expr": "status == 2"})])
    assert message == (
        "variables.dead.derive.kind: unknown derivation kind 'formula' (known: age_at, bmi, "
        "censored, ckd_epi_2021_egfr, ckd_group, combine, cut, expression, mdrd_egfr, ratio)"
    )


def test_unknown_kind_wins_over_other_keys(make_study):
    # not a complaint about 'source' or 'expr' being unexpected: the kind is what is wrong
    spec = {"kind": "Expression", "source": "x", "what": 1}
    assert refused(make_study, [*BASE, dead(spec)]).startswith(
        "variables.dead.derive.kind: unknown derivation kind 'Expression' (known: age_at"
    )


def test_schema_and_engine_know_the_same_kinds():
    assert sorted(_KINDS) == list(known_kinds())


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ({"kind": "expression", "expr": "status == 2", "source": "status"}, "unknown key 'source'"),
        ({"kind": "expression"}, "'expr' is a required property"),
        (
            {"kind": "combine", "cases": [{"when": "status == 2", "value": 1, "else": 0}]},
            "unknown key 'else'",
        ),
        ({"kind": "censored", "source": "status"}, "'below' is a required property"),
        ({"kind": "censored", "source": "status", "below": "zero"}, "'zero' is not one of"),
        ({"kind": "cut", "source": "age", "breaks": [60], "labels": []}, "unknown key 'labels'"),
    ],
)
def test_a_known_kind_checks_its_own_keys(make_study, spec, text):
    assert text in refused(make_study, [*BASE, dead(spec)])


# ----------------------------------------------------------------- sources


def test_a_source_must_be_declared_earlier_if_derived(make_study):
    later = {
        "name": "old",
        "label": "Old",
        "type": "binary",
        "codes": {0: "No", 1: "Yes"},
        "derive": {"kind": "expression", "expr": "age >= 65"},
    }
    uses_later = dead({"kind": "expression", "expr": "old == 1"})
    message = refused(make_study, [*BASE, uses_later, later])
    assert message == (
        'variables.dead.derive.expr: "old == 1" at position 1: '
        "'old' is derived later in the file (derivations run in file order)"
    )
    make_study([*BASE, later, uses_later])  # the other way round is fine


def test_a_variable_cannot_derive_from_itself(make_study):
    message = refused(make_study, [*BASE, dead({"kind": "expression", "expr": "dead == 1"})])
    assert "'dead' is the variable being derived" in message


@pytest.mark.parametrize("name", ["pid", "dob"])
def test_identifiers_are_read_only_as_a_date_of_birth(make_study, name):
    message = refused(make_study, [*BASE, dead({"kind": "expression", "expr": f"{name} == 1"})])
    assert f"'{name}' is an identifier" in message
    ratio = {
        "name": "r",
        "label": "R",
        "type": "continuous",
        "derive": {"kind": "ratio", "numerator": "age", "denominator": name},
    }
    assert "variables.r.derive.denominator: " in refused(make_study, [*BASE, ratio])


def test_old_kinds_still_name_an_undeclared_source(make_study):
    bmi = {
        "name": "bmi",
        "label": "BMI",
        "type": "continuous",
        "derive": {"kind": "bmi", "weight": "weight", "height_cm": "age"},
    }
    assert refused(make_study, [*BASE, bmi]) == (
        "variables.bmi.derive.weight: 'weight' is not a declared variable"
    )


# ------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("stauts == 2", "at position 1: 'stauts' is not a declared variable"),
        ("status === 2", "at position 10: unexpected '=': use '==' to compare"),
        ("status == 5", "at position 11: 5 is not a code of 'status' (codes: 0, 1, 2)"),
        ("status in (2, 7)", "at position 15: 7 is not a code of 'status' (codes: 0, 1, 2)"),
        ("sex == 'X'", "at position 8: 'X' is not a code of 'sex' (codes: M, F)"),
        ("sex == 1", "at position 1: '==' compares a text with a number"),
        ("age and status == 2", "at position 1: 'and' needs a condition on both sides"),
        ("`Age` > 3", "at position 1: 'Age' is not a declared variable"),
        # injection attempts: refused by the grammar, never run
        ("__import__('os').system('touch X')", "at position 11: unexpected '(': function calls"),
        ("status.__class__.__bases__", "at position 7: unexpected '.': attribute access"),
        ("status[0] == 1", "at position 7: unexpected '[': subscripts are not allowed"),
        ("(lambda: 1) == 1", "at position 2: 'lambda' is not part of the expression language"),
        ("[s for s in status] == 1", "at position 1: unexpected '[': a list is only allowed"),
        ("{s: 1 for s in status}", "at position 1: unexpected '{'"),
        ("exec('1') == 1", "at position 5: unexpected '(': function calls are not allowed"),
    ],
)
def test_expression_problems_name_variable_expression_and_position(
    make_study, tmp_path, expr, problem
):
    message = refused(make_study, [*BASE, dead({"kind": "expression", "expr": expr})])
    assert message.startswith(f'variables.dead.derive.expr: "{expr}" {problem}')
    assert not (tmp_path / "X").exists()


def test_an_expression_on_several_lines_is_shown_on_one(make_study):
    message = refused(make_study, [*BASE, dead({"kind": "expression", "expr": "status == 2\nand"})])
    assert message.startswith('variables.dead.derive.expr: "status == 2 and" at position 16:')


@pytest.mark.parametrize(
    ("variable", "expr", "problem"),
    [
        (
            {"type": "continuous"},
            "status == 2",
            '"status == 2" gives a condition, which does not fit a continuous variable',
        ),
        (
            {"type": "categorical", "codes": {1: "a", 2: "b", 3: "c"}},
            "status == 2",
            '"status == 2" is a condition: it gives a binary variable with two codes '
            "(use kind: combine for more)",
        ),
        (
            {"type": "categorical", "codes": {"a": "a", "b": "b"}},
            "age * 2",
            '"age * 2" gives a number, which does not fit a categorical variable',
        ),
        (
            {"type": "text"},
            "age * 2",
            '"age * 2" gives a number, which does not fit a text variable',
        ),
    ],
)
def test_the_result_must_fit_the_declared_type(make_study, variable, expr, problem):
    var = {"name": "x", "label": "X", **variable, "derive": {"kind": "expression", "expr": expr}}
    assert refused(make_study, [*BASE, var]) == f"variables.x.derive.expr: {problem}"


def test_a_good_expression_loads(make_study):
    study = make_study([*BASE, dead({"kind": "expression", "expr": "status in (1, 2)"})])
    assert study.variables["dead"].derive == {"kind": "expression", "expr": "status in (1, 2)"}
