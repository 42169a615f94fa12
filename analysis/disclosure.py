"""Statistical disclosure control of the aggregates that leave a site.

A trusted research environment checks every output before release. The rules here
are the published ones, implemented directly (the ``acro`` package is not used):

* **Threshold rule** (ACRO/SACRO, Green et al. 2021, "ACRO: Automatic Checking of
  Research Outputs", and the SACRO guide; also the UK Data Service / ONS SDC
  handbooks): every count of patients below 10 is suppressed.
* **OpenSAFELY rule** (OpenSAFELY "Disclosure control" documentation): counts of 7
  or fewer are redacted and every other count is rounded to the nearest 5;
  percentages are recomputed from the rounded counts.
* **Complementary (secondary) suppression** (Hundepool et al., *Statistical
  Disclosure Control*, Wiley 2012, ch. 4): a suppressed cell must not be
  recoverable by subtracting the shown cells of a line from its known total, so a
  line (a column of levels + Missing = group n, a row of groups = its total, ...)
  with exactly one hidden cell has a second one hidden (the smallest non-zero
  other cell), repeated until no line has exactly one.
* **Extreme values**: a minimum or maximum is one patient's value, so it is
  withheld and median (min, max) rows are shown as median (IQR); the quartiles are
  stated percentiles, not patients.
* **Listings** (one row per patient) are withheld entirely; **models** are withheld
  when their residual degrees of freedom or their events / non-events are too few.

Everything is a pure function of the results JSON: the input dict is never changed,
the output has the same layout with each hidden number set to ``None`` and a
``"disclosure"`` mark beside it, and ``result["disclosure"]["actions"]`` lists every
suppression with its reason, so a report can say what was hidden and why.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.errors import AnalysisError

__all__ = [
    "PROFILES_FILE",
    "Profile",
    "apply_to_flow",
    "apply_to_result",
    "load_profile",
    "model_withheld_reason",
    "profile_names",
    "protect_line",
]

PROFILES_FILE = Path(__file__).with_name("disclosure.yaml")
_KEYS = {
    "description",
    "threshold",
    "redact_at_or_below",
    "round_to",
    "min_residual_df",
    "suppress_zeros",
}
#: Statistics of a continuous row that are functions of the exact n (so reveal it).
_N_DEPENDENT = ("se_mean", "ci_mean_low", "ci_mean_high", "skewness_se", "kurtosis_se")
_CONTINUOUS = ("mean", "sd", "median", "q1", "q3", "min", "max", "skewness", "kurtosis")
#: Parts of a row's test_details that are not counts of patients (the rest, e.g.
#: n_by_group, rank sums, expected-count tables, would give a hidden n back).
_TEST_KEEP = {
    "method",
    "note",
    "shape",
    "dropped_rows",
    "dropped_cols",
    "cells_expected_lt5",
    "cells_expected_lt5_pct",
    "expected_min",
    "conf_level",
    "mean_diff",
    "se_diff",
    "ci_low",
    "ci_high",
    "levene",
    "equal_variances_assumed",
    "equal_variances_not_assumed",
    "z",
}
SECONDARY_WHY = "would reveal a suppressed cell by subtraction"


@dataclass(frozen=True)
class Profile:
    """One disclosure-control profile of ``disclosure.yaml``.

    ``threshold`` is the smallest count shown (10, or 8 for "7 or fewer redacted").
    """

    name: str
    description: str
    threshold: int
    round_to: int | None = None
    min_residual_df: int = 10
    suppress_zeros: bool = False
    rule: str = field(default="")

    @property
    def below(self) -> str:
        """The reason a small count is hidden, as the actions and figures print it."""
        return self.rule or f"below {self.threshold}"

    @property
    def small_label(self) -> str:
        """What a figure says of a group it does not draw ("n < 10")."""
        if self.rule:
            return f"n ≤ {self.threshold - 1}"
        return f"n < {self.threshold}"

    def is_small(self, value: Any) -> bool:
        """Whether a count is hidden by the primary rule."""
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        if value == 0:
            return self.suppress_zeros
        return value < self.threshold

    def rounded(self, value: int) -> int:
        """Nearest multiple of ``round_to`` (halves up; none occur for integer counts and 5)."""
        if not self.round_to:
            return value
        return math.floor(value / self.round_to + 0.5) * self.round_to


def profile_names(path: Path = PROFILES_FILE) -> list[str]:
    """The profiles the file defines."""
    return list(_read_profiles(path))


def _read_profiles(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    profiles = doc.get("profiles") if isinstance(doc, dict) else None
    if not isinstance(profiles, dict):
        raise AnalysisError(f"{path}: no 'profiles:' mapping")
    return profiles


def load_profile(name: str | None, path: Path = PROFILES_FILE) -> Profile | None:
    """The named profile, checked; ``None`` or ``"off"`` means no disclosure control."""
    if name is None or name == "off":
        return None
    profiles = _read_profiles(path)
    if name not in profiles:
        raise AnalysisError(
            f"{path}: unknown disclosure profile '{name}' (known: off, {', '.join(profiles)})"
        )
    raw = profiles[name]
    where = f"{path}: profile '{name}'"
    if not isinstance(raw, dict):
        raise AnalysisError(f"{where}: must be a mapping of settings")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise AnalysisError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_KEYS))})"
        )
    if ("threshold" in raw) == ("redact_at_or_below" in raw):
        raise AnalysisError(f"{where}: give exactly one of 'threshold' or 'redact_at_or_below'")
    for key in ("threshold", "redact_at_or_below", "round_to", "min_residual_df"):
        value = raw.get(key)
        if value is not None and (type(value) is not int or value < 0):
            raise AnalysisError(f"{where}: '{key}' must be a whole number >= 0, not {value!r}")
    if "suppress_zeros" in raw and not isinstance(raw["suppress_zeros"], bool):
        raise AnalysisError(f"{where}: 'suppress_zeros' must be true or false")
    if not isinstance(raw.get("description", ""), str):
        raise AnalysisError(f"{where}: 'description' must be text")
    if "threshold" in raw:
        threshold, rule = raw["threshold"], ""
    else:
        threshold = raw["redact_at_or_below"] + 1
        rule = f"{raw['redact_at_or_below']} or fewer"
    if raw.get("round_to") == 0:
        raise AnalysisError(f"{where}: 'round_to' must be at least 1")
    return Profile(
        name=name,
        description=" ".join(str(raw.get("description", name)).split()),
        threshold=threshold,
        round_to=raw.get("round_to"),
        min_residual_df=raw.get("min_residual_df", 10),
        suppress_zeros=raw.get("suppress_zeros", False),
        rule=rule,
    )


# --------------------------------------------------------------------------- cells


@dataclass
class _Cell:
    value: Any
    fixed: bool = False  # a total known from elsewhere: never hidden, never written
    state: str | None = None  # "suppressed" | "secondary"
    order: int = 0


class _Grid:
    """Count cells and the lines (linear identities) that tie them together."""

    def __init__(self) -> None:
        self.cells: dict[tuple, _Cell] = {}
        self.lines: list[list[tuple]] = []

    def add(self, key: tuple, value: Any, fixed: bool = False) -> tuple:
        if key not in self.cells:
            self.cells[key] = _Cell(value, fixed, order=len(self.cells))
        return key

    def line(self, keys: list[tuple]) -> None:
        keys = [k for k in keys if k in self.cells]
        if len(keys) >= 2:
            self.lines.append(keys)

    def protect(self, profile: Profile) -> None:
        """Primary rule on every count, then complementary suppression until stable."""
        for cell in self.cells.values():
            if not cell.fixed and profile.is_small(cell.value):
                cell.state = "suppressed"
        changed = True
        while changed:
            changed = False
            for keys in self.lines:
                hidden = [k for k in keys if self.cells[k].state]
                if len(hidden) != 1:
                    continue
                pick = self._partner(keys, hidden[0])
                if pick is not None:
                    self.cells[pick].state = "secondary"
                    changed = True

    def _partner(self, keys: list[tuple], hidden: tuple) -> tuple | None:
        """The smallest non-zero shown cell of a line (a zero one only if none is)."""
        others = [k for k in keys if k != hidden and not self.cells[k].fixed]
        others = [k for k in others if isinstance(self.cells[k].value, int | float)]
        if not others:
            return None
        nonzero = [k for k in others if self.cells[k].value] or others
        return min(nonzero, key=lambda k: (self.cells[k].value, self.cells[k].order))


def protect_line(counts: dict[Any, int], profile: Profile) -> dict[Any, str | None]:
    """States of counts that add up to a known total (a figure's group sizes): the
    primary rule, then complementary suppression on that one line."""
    grid = _Grid()
    known = grid.add(("total",), None, fixed=True)
    grid.line([known] + [grid.add(("c", key), value) for key, value in counts.items()])
    grid.protect(profile)
    return {key: grid.cells[("c", key)].state for key in counts}


def _count(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _row_label(row: dict[str, Any]) -> str:
    level = row.get("level_label")
    return f"{row['label']}: {level}" if level not in (None, "") else str(row["label"])


# --------------------------------------------------------------------------- tables


def apply_to_result(result: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """A protected copy of one results JSON (table, listing or model); input unchanged."""
    out = copy.deepcopy(result)
    actions: list[dict[str, Any]] = []
    marks: dict[str, str] = {}  # the result's own numbers: n, a model's counts
    table_id = out.get("model") or out.get("table")
    if out.get("kind") == "listing":
        _withhold_listing(out, marks, actions, table_id)
    elif "model" in out:
        _protect_model(out, profile, marks, actions, table_id)
    elif "rows" in out and "groups" in out and profile.is_small(out.get("n")):
        _withhold_small_table(out, profile, marks, actions, table_id)
    elif "rows" in out and "groups" in out:
        _protect_table(out, profile, marks, actions, table_id)
    out["disclosure"] = {
        "profile": profile.name,
        "description": profile.description
        + "; test statistics and p-values are still shown, including tests on suppressed"
        " cells",
        "marks": marks,
        "actions": actions,
    }
    return out


def _withhold_listing(out, marks, actions, table_id) -> None:
    out["withheld"] = "one row per patient: listings are not released"
    out["rows"] = []
    if _count(out.get("n")):
        out["n"] = None
        marks["n"] = "suppressed"
    actions.append(
        {
            "table": table_id,
            "row": None,
            "group": None,
            "what": "listing withheld",
            "why": "rows are single patients",
        }
    )


def _withhold_small_table(out, profile, marks, actions, table_id) -> None:
    """A table of fewer patients than the threshold: every count in it would be
    hidden, and its tests' degrees of freedom would still give the total back."""
    out["withheld"] = f"the table covers {profile.small_label} patients"
    out["rows"] = []
    out["n"] = None
    marks["n"] = "suppressed"
    for g in out["groups"]:
        g["n"] = None
        _mark(g, "n", "suppressed")
    actions.append(
        {
            "table": table_id,
            "row": None,
            "group": None,
            "what": "table withheld",
            "why": f"total {profile.below}",
        }
    )


def _protect_table(out, profile, marks, actions, table_id) -> None:
    groups, rows = out["groups"], out["rows"]
    # The rules below treat each row's total over the groups as known to a reader and
    # protect the group cells against it; an Overall column would print those totals,
    # small ones included, so it is not released (a rule of its own would be needed).
    popped = [row["stats"].pop("overall", None) for row in rows if row.get("stats")]
    if any(v is not None for v in popped):
        what = "Overall column withheld"
        actions.append({"table": table_id, "row": None, "group": None, "what": what,
                        "why": "row totals over the groups are not released"})  # fmt: skip
    keys = [g["key"] for g in groups]
    several = len(keys) >= 2
    grid = _Grid()
    grid.add(("T",), out.get("n"))
    grid.line([("T",)] + [grid.add(("N", g["key"]), g.get("n")) for g in groups])
    by_var: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_var.setdefault(row["variable"], []).append(i)
    for var, idx in by_var.items():
        first = rows[idx[0]]
        categorical = first.get("kind") != "continuous"
        for g in keys:
            s = (first.get("stats") or {}).get(g) or {}
            n, m = grid.add(("n", var, g), s.get("n")), grid.add(("m", var, g), s.get("missing"))
            total = _group_total(grid, rows, idx[0], g, s)
            if total:
                grid.line([n, m, total])
            if categorical:
                cells = [grid.add(("c", var, i, g), rows[i]["stats"][g].get("count")) for i in idx]
                grid.line([*cells, n])
        if several:
            for stat in ("n", "m"):
                known = grid.add((stat + "_total", var), None, fixed=True)
                grid.line([known] + [(stat, var, g) for g in keys])
            if categorical:
                for i in idx:
                    known = grid.add(("c_total", var, i), None, fixed=True)
                    grid.line([known] + [("c", var, i, g) for g in keys])
    grid.protect(profile)
    _write_table(out, grid, profile, marks, actions, table_id)


def _group_total(grid: _Grid, rows, i: int, g: str, s: dict[str, Any]) -> tuple | None:
    """The shown cell that n + missing of a row adds up to: the group's n, or (a
    variable asked only of some, e.g. ICU days) a count of an earlier row. A spurious
    match only hides more, never less."""
    n, m = s.get("n"), s.get("missing")
    if not (_count(n) and _count(m)):
        return None
    if grid.cells[("N", g)].value == n + m:
        return ("N", g)
    for j in range(i - 1, -1, -1):
        other = (rows[j].get("stats") or {}).get(g) or {}
        if rows[j].get("kind") != "continuous" and other.get("count") == n + m:
            return ("c", rows[j]["variable"], j, g)
    return None


def _mark(target: dict[str, Any], stat: str, state: str) -> None:
    target.setdefault("disclosure", {})[stat] = state


def _write_table(out, grid: _Grid, profile: Profile, marks, actions, table_id) -> None:
    def act(row, group, what, state):
        why = profile.below if state == "suppressed" else SECONDARY_WHY
        actions.append({"table": table_id, "row": row, "group": group, "what": what, "why": why})

    labels = {g["key"]: g.get("label", g["key"]) for g in out["groups"]}
    total = grid.cells[("T",)]
    if total.state:
        out["n"] = None
        marks["n"] = total.state
        act("Total n", None, "n suppressed", total.state)
    elif profile.round_to and _count(out.get("n")):
        out["n"] = profile.rounded(out["n"])
        marks["n"] = "rounded"
    for g in out["groups"]:
        cell = grid.cells[("N", g["key"])]
        if cell.state:
            g["n"] = None
            _mark(g, "n", cell.state)
            act("Group size (n)", g.get("label"), "n suppressed", cell.state)
        elif profile.round_to and _count(g.get("n")):
            g["n"] = profile.rounded(g["n"])
            _mark(g, "n", "rounded")
    seen_var: set[tuple[str, str]] = set()
    for i, row in enumerate(out["rows"]):
        var = row["variable"]
        continuous = row.get("kind") == "continuous"
        any_hidden = False
        for g, s in (row.get("stats") or {}).items():
            if s is None:
                continue
            n_cell, m_cell = grid.cells.get(("n", var, g)), grid.cells.get(("m", var, g))
            first_of_var = (var, g) not in seen_var
            seen_var.add((var, g))
            group = labels.get(g, g)
            for stat, cell, what in (("n", n_cell, "n"), ("missing", m_cell, "missing count")):
                if cell is None or not _count(s.get(stat)):
                    continue
                if cell.state:
                    s[stat] = None
                    _mark(s, stat, cell.state)
                    any_hidden = True
                    if first_of_var:
                        act(
                            _row_label(row) if not continuous else row["label"],
                            group,
                            f"{what} suppressed",
                            cell.state,
                        )
                elif profile.round_to:
                    s[stat] = profile.rounded(s[stat])
                    _mark(s, stat, "rounded")
            if continuous:
                small = n_cell is not None and n_cell.state == "suppressed"
                for stat in _CONTINUOUS + _N_DEPENDENT:
                    if stat not in s:
                        continue
                    if small or stat in ("min", "max"):
                        if s[stat] is not None:
                            s[stat] = None
                            _mark(s, stat, "suppressed")
                    elif (
                        stat in _N_DEPENDENT
                        and s[stat] is not None
                        and (n_cell is None or n_cell.state or profile.round_to)
                    ):
                        s[stat] = None
                        _mark(s, stat, "secondary")
                if small:
                    act(row["label"], group, "summary statistics suppressed", "suppressed")
                continue
            c_cell = grid.cells.get(("c", var, i, g))
            if c_cell is None or not _count(s.get("count")):
                continue
            if c_cell.state:
                s["count"] = None
                _mark(s, "count", c_cell.state)
                any_hidden = True
                act(_row_label(row), group, "count suppressed", c_cell.state)
            elif profile.round_to:
                s["count"] = profile.rounded(s["count"])
                _mark(s, "count", "rounded")
            if "percent" in s:
                shown = s["count"] is not None and s.get("n") is not None
                if not shown:
                    s["percent"] = None
                    _mark(s, "percent", c_cell.state or "secondary")
                elif profile.round_to:
                    s["percent"] = 100.0 * s["count"] / s["n"] if s["n"] else s["percent"]
                    _mark(s, "percent", "rounded")
        switched = continuous and row.get("summary") == "median_min_max"
        if switched:
            row["summary"] = "median_iqr"
        if continuous and any(s and "min" in s for s in (row.get("stats") or {}).values()):
            what = "minimum and maximum withheld"
            actions.append({"table": table_id, "row": row["label"], "group": None,
                            "what": what + (", median (IQR) shown" if switched else ""),
                            "why": "single patients' values"})  # fmt: skip
        _scrub_tests(row, any_hidden or _var_hidden(grid, var))


def _var_hidden(grid: _Grid, var: str) -> bool:
    return any(c.state for k, c in grid.cells.items() if len(k) > 1 and k[1] == var)


def _scrub_tests(row: dict[str, Any], hidden: bool) -> None:
    """Drop the counts a test's details carry (n by group, rank sums, expected tables)."""
    details = row.get("test_details")
    if isinstance(details, dict):
        kept = {k: v for k, v in details.items() if k in _TEST_KEEP}
        if hidden:
            for key in ("cells_expected_lt5", "cells_expected_lt5_pct", "expected_min"):
                if key in kept:
                    kept[key] = None
        row["test_details"] = kept
    normality = row.get("normality_details")
    if isinstance(normality, dict):
        for tests in normality.values():
            for test in (tests or {}).values():
                if isinstance(test, dict) and "n" in test:
                    test["n"] = None


# --------------------------------------------------------------------------- models


def model_withheld_reason(fit: dict[str, Any], params: int, profile: Profile) -> str | None:
    """Why a fit (its ``n``, ``events``, ``nonevents``) may not be released, or None; also
    the rule for a model's aggregates leaving a site. The reason names no count (it would
    give back the n it hides)."""
    n, events, nonevents = fit.get("n"), fit.get("events"), fit.get("nonevents")
    if _count(n) and n - params < profile.min_residual_df:
        return (
            f"residual degrees of freedom (n minus {params} parameters) below "
            f"{profile.min_residual_df}"
        )
    if _count(events) and (events == 0 or profile.is_small(events)):
        return f"events {profile.below}"
    if _count(nonevents) and (nonevents == 0 or profile.is_small(nonevents)):
        return f"non-events {profile.below}"
    return None


def _withhold_fit(fit: dict[str, Any], prefix: str, marks: dict[str, str]) -> None:
    fit["terms"] = []
    fit["predictor_tests"] = []
    fit["fit"] = {}
    for key in ("n", "n_dropped", "events", "nonevents", "events_per_variable"):
        if key in fit:
            fit[key] = None
            marks[prefix + key] = "suppressed"
    if isinstance(fit.get("missing_by_column"), dict):
        fit["missing_by_column"] = dict.fromkeys(fit["missing_by_column"])


def _protect_model(out, profile, marks, actions, table_id) -> None:
    """Withhold the model (or one crude fit) that fails the rule; protect the counts of
    the rest. Estimates, CIs and p-values of a released model are kept."""
    reason = model_withheld_reason(out, len(out.get("terms") or []), profile)
    if reason:
        out["withheld"] = f"model withheld: {reason}"
        _withhold_fit(out, "", marks)
        out["crude"] = {}
        actions.append(
            {"table": table_id, "row": None, "group": None, "what": "model withheld", "why": reason}
        )
    else:
        _protect_counts(out, "", profile, marks, actions, table_id)
        for name, fit in (out.get("crude") or {}).items():
            crude_reason = model_withheld_reason(fit, len(fit.get("terms") or []), profile)
            if crude_reason:
                fit["withheld"] = f"crude model withheld: {crude_reason}"
                _withhold_fit(fit, f"crude.{name}.", marks)
                actions.append({"table": table_id, "row": f"crude: {name}", "group": None,
                                "what": "crude model withheld", "why": crude_reason})  # fmt: skip
            else:
                _protect_counts(fit, f"crude.{name}.", profile, marks, actions, table_id)
        hl = (out.get("fit") or {}).get("hosmer_lemeshow")
        if isinstance(hl, dict):  # a per-group observed/expected table would be counts
            out["fit"]["hosmer_lemeshow"] = {
                k: v for k, v in hl.items() if not isinstance(v, list | dict)
            }


def _protect_counts(fit, prefix, profile, marks, actions, table_id) -> None:
    """Counts of a kept model: small ones hidden, the others rounded if the profile rounds."""
    places = [(fit, k, k) for k in ("n", "n_dropped", "events", "nonevents")]
    places += [
        (fit["missing_by_column"], k, f"missing_by_column.{k}")
        for k in (fit.get("missing_by_column") or {})
    ]
    for holder, key, name in places:
        value = holder.get(key)
        if not _count(value):
            continue
        if profile.is_small(value):
            holder[key] = None
            marks[prefix + name] = "suppressed"
            actions.append(
                {
                    "table": table_id,
                    "row": prefix + name,
                    "group": None,
                    "what": "count suppressed",
                    "why": profile.below,
                }
            )
        elif profile.round_to:
            holder[key] = profile.rounded(value)
            marks[prefix + name] = "rounded"
    if profile.round_to and "events_per_variable" in fit:
        fit["events_per_variable"] = None
        marks[prefix + "events_per_variable"] = "secondary"


# --------------------------------------------------------------------------- flow

_FLOW_COUNTS = ("n", "excluded", "excluded_value_missing", "excluded_not_met")


def apply_to_flow(flow: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """A protected copy of flow.json: the count rule and complementary suppression on
    the identities n(before) = n(after) + excluded and excluded = missing + not met."""
    out = copy.deepcopy(flow)
    steps = out.get("steps") or []
    grid = _Grid()
    for i, step in enumerate(steps):
        for key in _FLOW_COUNTS:
            if _count(step.get(key)):
                grid.add((i, key), step[key])
        for name, value in (step.get("missing_variables") or {}).items():
            if _count(value):
                grid.add((i, "mv", name), value)
        if i:
            grid.line([(i - 1, "n"), (i, "n"), (i, "excluded")])
        grid.line([(i, "excluded"), (i, "excluded_value_missing"), (i, "excluded_not_met")])
        mv = step.get("missing_variables") or {}
        if mv and sum(v for v in mv.values() if _count(v)) == step.get("excluded_value_missing"):
            grid.line([(i, "excluded_value_missing")] + [(i, "mv", k) for k in mv])
    grid.protect(profile)
    actions = []
    for i, step in enumerate(steps):
        for key, cell in grid.cells.items():
            if key[0] != i:
                continue
            holder, stat = (step["missing_variables"], key[2]) if key[1] == "mv" else (step, key[1])
            if cell.state:
                holder[stat] = None
                _mark(step, stat if key[1] != "mv" else f"missing_variables.{stat}", cell.state)
                why = profile.below if cell.state == "suppressed" else SECONDARY_WHY
                actions.append(
                    {
                        "table": "flow",
                        "row": step.get("label"),
                        "group": None,
                        "what": f"{stat} suppressed",
                        "why": why,
                    }
                )
            elif profile.round_to:
                holder[stat] = profile.rounded(cell.value)
                _mark(step, stat if key[1] != "mv" else f"missing_variables.{stat}", "rounded")
    out["disclosure"] = {
        "profile": profile.name,
        "description": profile.description,
        "actions": actions,
    }
    return out
