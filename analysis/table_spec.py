"""Which test fits which row of a summary table, checked when the study loads.

A summary table names its tests in three places: the policy (``normal``/``non_normal``
branches for continuous rows, ``categorical`` for coded ones), a table-wide ``test``
for every continuous row, and per-row ``overrides``. Whether a named test can run on a
row depends only on the study file -- the kind of row, how many codes the grouping
variable has (after the table's ``where``), how many codes the row variable has -- so
every such mistake is found here, before any data are read, and named by table and
variable::

    studies/mine.yaml: tables[1].overrides.albumin.test: table table2, variable albumin:
    test 'student_t' needs exactly two groups but group variable ckd_group has 3 codes

What depends on the data (a declared group with no rows, a group too large for an exact
test) is left to :func:`analysis.tables.table_issues`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from analysis.errors import StudyFileError

if TYPE_CHECKING:
    from analysis.study import Variable

__all__ = [
    "CATEGORICAL_TESTS",
    "CONTINUOUS_TESTS",
    "TWO_GROUP_TESTS",
    "check_table",
    "is_categorical_row",
]

#: Continuous tests that compare exactly two groups.
TWO_GROUP_TESTS = frozenset({"student_t", "welch_t", "mann_whitney", "mann_whitney_exact"})
#: Every test of a continuous row (two groups or more; ANOVA on two groups is F = t²).
CONTINUOUS_TESTS = TWO_GROUP_TESTS | {"anova", "welch_anova", "kruskal_wallis"}
#: Every test of a categorical row (a groups x levels contingency table).
CATEGORICAL_TESTS = frozenset({"chi_square", "yates_chi_square", "fisher_exact"})

#: Raises the error for a key path (after the table's), a variable (or None), a message.
Fail = Callable[[str, "str | None", str], NoReturn]


def is_categorical_row(var: Variable, override: dict[str, Any]) -> bool:
    """A coded variable is counted (n (%)) unless its row asks for another summary,
    in which case its codes are summarised as numbers, like a continuous variable."""
    return var.is_categorical and override.get("summary", "n_pct") == "n_pct"


def _codes_in_table(var: Variable, table: dict[str, Any]) -> list[Any]:
    """The codes of ``var`` that can occur in the table: all of them, or those its
    ``where`` keeps."""
    kept = (table.get("where") or {}).get(var.name)
    if kept is None:
        return var.levels
    kept = kept if isinstance(kept, list) else [kept]
    return [code for code in var.levels if code in kept]


def _codes_text(var: Variable, n: int, table: dict[str, Any]) -> str:
    after = " after the table's where" if var.name in (table.get("where") or {}) else ""
    return f"{n} code{'s' if n != 1 else ''}{after}"


def check_table(
    where: Path,
    key: str,
    table: dict[str, Any],
    policies: dict[str, dict[str, Any]],
    variables: dict[str, Variable],
    policy: str | None = None,
) -> None:
    """Raise :class:`StudyFileError` for the first test of ``table`` that cannot run.

    ``key`` is the table's key path (``tables[1]``); ``policy`` replaces the table's own
    policy (a sensitivity analysis), so the same checks guard ``--policy``. Variables,
    codes and the policy's existence are assumed checked already.
    """
    tid = table["id"]

    def fail(path: str, name: str | None, message: str) -> NoReturn:
        subject = f"table {tid}" + (f", variable {name}" if name else "")
        raise StudyFileError(f"{where}: {key}{path}: {subject}: {message}")

    table_test = table.get("test")
    if table.get("kind", "summary") == "listing":
        if table_test is not None:
            fail(".test", None, "a listing has no tests; 'test' belongs to a summary table")
        return
    overrides = table.get("overrides", {})
    if "group_by" not in table:
        if table_test not in (None, "none"):
            fail(".test", None, f"test '{table_test}' needs a group_by to compare groups")
        for name, override in overrides.items():
            if override.get("test", "none") != "none":
                fail(f".overrides.{name}.test", name,
                     f"test '{override['test']}' needs the table to have a group_by")  # fmt: skip
        return
    policy_name = policy or table.get("policy", "paper")
    if policy_name not in policies:
        fail(".policy", None, f"policy '{policy_name}' is not defined")
    pol = policies[policy_name]
    group = variables[table["group_by"]]
    k = len(_codes_in_table(group, table))
    groups_text = f"group variable {group.name} has {_codes_text(group, k, table)}"
    for name in table["rows"]:
        var = variables[name]
        override = overrides.get(name, {})
        if is_categorical_row(var, override):
            _check_categorical(fail, name, var, override, pol, policy_name, k, groups_text, table)
        else:
            _check_continuous(fail, name, var, override, table_test, k, groups_text)


def _check_categorical(
    fail: Fail,
    name: str,
    var: Variable,
    override: dict[str, Any],
    pol: dict[str, Any],
    policy_name: str,
    k: int,
    groups_text: str,
    table: dict[str, Any],
) -> None:
    """A counted row: its test must be a contingency-table test that fits its shape."""
    if "test" in override:
        test, path, origin = override["test"], f".overrides.{name}.test", ""
    else:
        test, path = pol["categorical"]["test"], ".policy"
        origin = f" (policy '{policy_name}')"
    if test == "none":
        return
    if test not in CATEGORICAL_TESTS:
        fail(path, name, f"test '{test}'{origin} cannot be used on a {var.type} variable "
                         "(give the row a summary such as mean_sd to summarise its codes "
                         "as numbers)")  # fmt: skip
    levels = len(_codes_in_table(var, table))
    if test == "yates_chi_square" and k >= 2 and levels >= 2 and (k, levels) != (2, 2):
        fail(path, name, f"test 'yates_chi_square'{origin} needs a 2x2 table but {groups_text} "
                         f"and {name} has {_codes_text(var, levels, table)}")  # fmt: skip


def _check_continuous(
    fail: Fail,
    name: str,
    var: Variable,
    override: dict[str, Any],
    table_test: str | None,
    k: int,
    groups_text: str,
) -> None:
    """A row summarised as numbers: a named test must be a continuous one, and a
    two-group test needs a grouping with two codes. (The policy's own choice cannot
    go wrong: it picks ``two_groups`` or ``k_groups`` by the groups with data.)"""
    summary = override.get("summary") or var.summary
    if summary == "n_pct":
        path = f".overrides.{name}.summary" if "summary" in override else ".rows"
        fail(path, name, f"summary 'n_pct' needs a binary or categorical variable, "
                         f"not a {var.type} one")  # fmt: skip
    if "test" in override:
        test, path, origin = override["test"], f".overrides.{name}.test", ""
    elif table_test is not None:
        test, path, origin = table_test, ".test", " (the table's test)"
    else:
        return
    if test == "none":
        return
    if test not in CONTINUOUS_TESTS:
        what = "continuous" if var.type == "continuous" else f"{var.type} (summarised as numbers)"
        fail(path, name, f"test '{test}'{origin} cannot be used on a {what} variable")
    if test in TWO_GROUP_TESTS and k > 2:
        fail(path, name, f"test '{test}'{origin} needs exactly two groups but {groups_text}")
