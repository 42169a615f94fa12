"""Disclosure control: hand-built tables with known counts, and an attacker that tries
to get every hidden count back by subtraction (linear algebra on every identity a
reader knows) from the protected output."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.derive import derive_cohort
from analysis.disclosure import (
    Profile,
    apply_to_flow,
    apply_to_result,
    load_profile,
    protect_line,
)
from analysis.errors import AnalysisError

# --------------------------------------------------------------------------- helpers


def _table(groups: dict[str, int], variables: list[dict[str, Any]]) -> dict[str, Any]:
    """A results-JSON table: ``variables`` give kind, level counts per group, missing."""
    rows = []
    for v in variables:
        missing = v.get("missing", dict.fromkeys(groups, 0))
        if v["kind"] == "continuous":
            stats = {}
            for g in groups:
                n = v["n"][g]
                stats[g] = {
                    "n": n,
                    "missing": missing[g],
                    "mean": 5.0,
                    "sd": 1.0,
                    "median": 5.0,
                    "min": 1.0,
                    "max": 9.0,
                    "q1": 4.0,
                    "q3": 6.0,
                    "se_mean": 1.0 / n**0.5,
                }
            rows.append(
                {
                    "variable": v["name"],
                    "label": v["name"],
                    "level": None,
                    "level_label": None,
                    "kind": "continuous",
                    "summary": v.get("summary", "median_min_max"),
                    "stats": stats,
                    "test": "mann_whitney",
                    "p_value": 0.5,
                    "test_details": {
                        "method": "mann_whitney",
                        "note": None,
                        "n_by_group": list(v["n"].values()),
                    },
                }
            )
            continue
        for level, counts in v["levels"].items():
            stats = {}
            for g in groups:
                n = sum(c[g] for c in v["levels"].values())
                stats[g] = {
                    "n": n,
                    "missing": missing[g],
                    "count": counts[g],
                    "percent": 100.0 * counts[g] / n if n else 0.0,
                }
            rows.append(
                {
                    "variable": v["name"],
                    "label": v["name"],
                    "level": level,
                    "level_label": level,
                    "kind": v["kind"],
                    "summary": "n_pct",
                    "stats": stats,
                    "test": "chi_square",
                    "p_value": 0.5,
                    "test_details": {"method": "pearson_chi_square", "note": None},
                }
            )
    return {
        "table": "t",
        "kind": "summary",
        "title": "t",
        "n": sum(groups.values()),
        "groups": [{"key": g, "label": g, "n": n} for g, n in groups.items()],
        "rows": rows,
    }


def _profile(threshold: int = 10) -> Profile:
    return Profile(name="threshold", description="test", threshold=threshold)


OPENSAFELY = Profile(
    name="opensafely", description="test", threshold=8, round_to=5, rule="7 or fewer"
)


def _cell(result: dict[str, Any], variable: str, level: str | None, group: str) -> dict:
    row = next(r for r in result["rows"] if r["variable"] == variable and r["level"] == level)
    return row["stats"][group]


def recoverable(original: dict[str, Any], protected: dict[str, Any]) -> list[str]:
    """Every hidden count of ``protected`` that a reader can compute exactly.

    The reader sees the protected table and also knows (as a test's expected counts
    or degrees of freedom would tell them) each level's total over the groups, the
    total missing and non-missing of each variable, and the table's n. Unknowns are
    the hidden counts; the identities are

    * group n = non-missing n + missing, for every variable and group;
    * non-missing n = the sum of the level counts (a binary row's complement too);
    * the level, missing and non-missing totals over the groups; the groups' sum;
    * count = percent x n / 100 and n = 100 x count / percent where those are shown.

    A hidden count is recovered when its unit vector lies in the row space of the
    identities restricted to the unknowns (any combination of subtractions).
    """
    names: dict[tuple, int] = {}
    equations: list[tuple[dict[tuple, float], float]] = []  # {unknown: coef}, constant

    def term(key: tuple, shown: Any, coef: float, eq: dict, const: list) -> None:
        if shown is None:
            names.setdefault(key, len(names))
            eq[key] = eq.get(key, 0.0) + coef
        else:
            const[0] -= coef * shown

    def equation(parts: list[tuple[tuple, Any, float]], total: float = 0.0) -> None:
        eq: dict[tuple, float] = {}
        const = [total]
        for key, shown, coef in parts:
            term(key, shown, coef, eq, const)
        if eq:
            equations.append((eq, const[0]))

    groups = [g["key"] for g in protected["groups"]]
    gn = {g["key"]: g["n"] for g in protected["groups"]}
    equation([(("N", g), gn[g], 1.0) for g in groups] + [(("T",), protected["n"], -1.0)])
    several = len(groups) > 1
    by_var: dict[str, list[int]] = {}
    for i, row in enumerate(protected["rows"]):
        by_var.setdefault(row["variable"], []).append(i)
    for var, idx in by_var.items():
        rows, orig = [protected["rows"][i] for i in idx], [original["rows"][i] for i in idx]
        for g in groups:
            s = rows[0]["stats"][g]
            o = orig[0]["stats"][g]
            if o["n"] + o["missing"] == next(x["n"] for x in original["groups"] if x["key"] == g):
                equation(
                    [
                        (("n", var, g), s["n"], 1.0),
                        (("m", var, g), s["missing"], 1.0),
                        (("N", g), gn[g], -1.0),
                    ]
                )
            if rows[0]["kind"] == "continuous":
                continue
            equation(
                [(("c", var, i, g), protected["rows"][i]["stats"][g]["count"], 1.0) for i in idx]
                + [(("n", var, g), s["n"], -1.0)]
            )
            for i in idx:
                p = protected["rows"][i]["stats"][g]
                if p.get("percent") is not None and p["count"] is not None and p["count"] > 0:
                    equation([(("n", var, g), s["n"], 1.0)], 100.0 * p["count"] / p["percent"])
                if p.get("percent") is not None and s["n"] is not None:
                    equation([(("c", var, i, g), p["count"], 1.0)], p["percent"] * s["n"] / 100)
        if several:
            for stat, key in (("n", "n"), ("missing", "m")):
                total = sum(orig[0]["stats"][g][stat] for g in groups)
                equation([((key, var, g), rows[0]["stats"][g][stat], 1.0) for g in groups], total)
            if rows[0]["kind"] != "continuous":
                for i, o in zip(idx, orig, strict=True):
                    total = sum(o["stats"][g]["count"] for g in groups)
                    equation(
                        [
                            (("c", var, i, g), protected["rows"][i]["stats"][g]["count"], 1.0)
                            for g in groups
                        ],
                        total,
                    )
    if not names:
        return []
    a = np.zeros((len(equations), len(names)))
    for r, (eq, _) in enumerate(equations):
        for key, coef in eq.items():
            a[r, names[key]] = coef
    rank = np.linalg.matrix_rank(a) if len(equations) else 0
    found = []
    for key, j in names.items():
        unit = np.zeros((1, len(names)))
        unit[0, j] = 1.0
        if len(equations) and np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            found.append(str(key))
    return found


def _lines_with_one_hidden(result: dict[str, Any]) -> list[str]:
    """Lines of a levels x groups table (with group n and Missing) with one hidden cell."""
    bad = []
    groups = [g["key"] for g in result["groups"]]
    for var in dict.fromkeys(r["variable"] for r in result["rows"]):
        rows = [r for r in result["rows"] if r["variable"] == var and r["kind"] != "continuous"]
        if not rows:
            continue
        for g in groups:  # a column: levels + Missing = group n
            column = [r["stats"][g]["count"] for r in rows] + [rows[0]["stats"][g]["missing"]]
            header = next(x["n"] for x in result["groups"] if x["key"] == g)
            if [*column, header].count(None) == 1:
                bad.append(f"{var} column {g}")
        for r in rows:  # a row: its total over the groups is known
            if len(groups) > 1 and [r["stats"][g]["count"] for g in groups].count(None) == 1:
                bad.append(f"{var} row {r['level']}")
    return bad


# --------------------------------------------------------------------------- threshold


def test_three_is_suppressed_and_the_rectangle_closes() -> None:
    """2 groups x 3 levels: 3 < 10 is suppressed; by hand, complementary suppression
    takes 12 (smallest other in its column), 15 (its row), then 20 (15's column)."""
    table = _table(
        {"A": 55, "B": 65},
        [
            {
                "name": "v",
                "kind": "categorical",
                "levels": {
                    "1": {"A": 3, "B": 15},
                    "2": {"A": 12, "B": 20},
                    "3": {"A": 40, "B": 30},
                },
            }
        ],
    )
    out = apply_to_result(table, _profile())
    assert _cell(out, "v", "1", "A")["count"] is None
    assert _cell(out, "v", "1", "A")["disclosure"] == {
        "count": "suppressed",
        "percent": "suppressed",
    }
    hidden = {
        (r["level"], g) for r in out["rows"] for g in ("A", "B") if r["stats"][g]["count"] is None
    }
    assert hidden == {("1", "A"), ("2", "A"), ("1", "B"), ("2", "B")}
    assert _cell(out, "v", "2", "A")["disclosure"]["count"] == "secondary"
    assert _cell(out, "v", "3", "A")["count"] == 40
    assert _cell(out, "v", "3", "A")["percent"] == pytest.approx(100 * 40 / 55)
    assert _lines_with_one_hidden(out) == []
    assert recoverable(table, out) == []
    whys = {(a["row"], a["group"]): a["why"] for a in out["disclosure"]["actions"]}
    assert whys[("v: 1", "A")] == "below 10"
    assert whys[("v: 2", "A")] == "would reveal a suppressed cell by subtraction"


def test_without_complementary_suppression_the_attacker_wins() -> None:
    """The attacker is not toothless: hiding only the 3 lets it back out."""
    table = _table(
        {"A": 55, "B": 65},
        [
            {
                "name": "v",
                "kind": "categorical",
                "levels": {
                    "1": {"A": 3, "B": 15},
                    "2": {"A": 12, "B": 20},
                    "3": {"A": 40, "B": 30},
                },
            }
        ],
    )
    naive = copy.deepcopy(table)
    naive["rows"][0]["stats"]["A"].update(count=None, percent=None)
    assert recoverable(table, naive) == ["('c', 'v', 0, 'A')"]


def test_binary_complement_and_missing_are_protected() -> None:
    """Yes = 4 of a binary row: No = n - Yes - missing would give it back."""
    table = _table(
        {"A": 60, "B": 70},
        [
            {
                "name": "b",
                "kind": "binary",
                "levels": {"0": {"A": 53, "B": 50}, "1": {"A": 4, "B": 20}},
                "missing": {"A": 3, "B": 0},
            }
        ],
    )
    out = apply_to_result(table, _profile())
    assert _cell(out, "b", "1", "A")["count"] is None
    assert _cell(out, "b", "1", "A")["missing"] is None  # 3 < 10 too
    assert _lines_with_one_hidden(out) == []
    assert recoverable(table, out) == []


def test_small_group_hides_group_n_and_continuous_statistics() -> None:
    table = _table(
        {"A": 6, "B": 40, "C": 50},
        [{"name": "x", "kind": "continuous", "n": {"A": 6, "B": 40, "C": 50}}],
    )
    out = apply_to_result(table, _profile())
    groups = {g["key"]: g for g in out["groups"]}
    assert groups["A"]["n"] is None and groups["A"]["disclosure"] == {"n": "suppressed"}
    assert groups["B"]["n"] is None and groups["B"]["disclosure"] == {"n": "secondary"}
    assert groups["C"]["n"] == 50
    a = _cell(out, "x", None, "A")
    assert all(a[k] is None for k in ("n", "mean", "sd", "median", "q1", "q3", "min", "max"))
    assert a["disclosure"]["mean"] == "suppressed"
    assert "n_by_group" not in out["rows"][0]["test_details"]


def test_min_max_switched_to_iqr() -> None:
    table = _table(
        {"A": 50, "B": 60},
        [
            {"name": "x", "kind": "continuous", "n": {"A": 50, "B": 60}},
            {"name": "y", "kind": "continuous", "n": {"A": 50, "B": 60}, "summary": "mean_sd"},
        ],
    )
    out = apply_to_result(table, _profile())
    assert out["rows"][0]["summary"] == "median_iqr"
    assert out["rows"][1]["summary"] == "mean_sd"
    for row in out["rows"]:
        for s in row["stats"].values():
            assert s["min"] is None and s["max"] is None
            assert (s["median"], s["q1"], s["q3"]) == (5.0, 4.0, 6.0)
            assert s["disclosure"]["min"] == s["disclosure"]["max"] == "suppressed"
    assert any("minimum and maximum" in a["what"] for a in out["disclosure"]["actions"])


def test_p_values_kept_and_said_so() -> None:
    table = _table(
        {"A": 55, "B": 65},
        [
            {
                "name": "v",
                "kind": "categorical",
                "levels": {"1": {"A": 3, "B": 62}, "2": {"A": 52, "B": 3}},
            }
        ],
    )
    out = apply_to_result(table, _profile())
    assert [r["p_value"] for r in out["rows"]] == [0.5, 0.5]
    assert "p-values are still shown" in out["disclosure"]["description"]


# --------------------------------------------------------------------------- opensafely


def test_opensafely_redacts_and_rounds() -> None:
    """7 -> redacted; 8 -> 10, 12 -> 10, 13 -> 15; percentages from rounded counts."""
    table = _table(
        {"A": 33, "B": 33},
        [
            {
                "name": "r",
                "kind": "categorical",
                "levels": {"1": {"A": 8, "B": 13}, "2": {"A": 12, "B": 12}, "3": {"A": 13, "B": 8}},
            },
            {
                "name": "s",
                "kind": "categorical",
                "levels": {"1": {"A": 7, "B": 20}, "2": {"A": 26, "B": 13}},
            },
        ],
    )
    out = apply_to_result(table, OPENSAFELY)
    assert [_cell(out, "r", lv, "A")["count"] for lv in ("1", "2", "3")] == [10, 10, 15]
    a = _cell(out, "r", "1", "A")
    assert a["n"] == 35  # 33 rounded
    assert a["percent"] == pytest.approx(100 * 10 / 35)
    assert a["disclosure"] == {
        "n": "rounded",
        "missing": "rounded",
        "count": "rounded",
        "percent": "rounded",
    }
    assert [g["n"] for g in out["groups"]] == [35, 35]
    seven = _cell(out, "s", "1", "A")
    assert seven["count"] is None and seven["disclosure"]["count"] == "suppressed"
    assert out["disclosure"]["actions"][0]["why"] == "7 or fewer"


def test_opensafely_profile_from_file() -> None:
    profile = load_profile("opensafely")
    assert (profile.threshold, profile.round_to) == (8, 5)
    assert [profile.is_small(v) for v in (0, 1, 7, 8)] == [False, True, True, False]
    assert [profile.rounded(v) for v in (8, 12, 13, 22, 23)] == [10, 10, 15, 20, 25]


# --------------------------------------------------------------------------- listings, models


def test_listing_withheld() -> None:
    listing = {
        "table": "t5",
        "kind": "listing",
        "n": 28,
        "columns": [{"variable": "age"}],
        "rows": [{"case": 1, "values": {"age": 29.0}}],
    }
    out = apply_to_result(listing, _profile())
    assert out["rows"] == [] and out["withheld"]
    assert out["disclosure"]["actions"][0]["what"] == "listing withheld"


def _model(n: int, events: int, params: int) -> dict[str, Any]:
    terms = [
        {
            "term": f"b{i}",
            "estimate": 0.1,
            "odds_ratio": 1.1,
            "ci_low": 0.9,
            "ci_high": 1.3,
            "p_value": 0.2,
        }
        for i in range(params)
    ]
    return {
        "model": "m",
        "kind": "logistic",
        "n": n,
        "n_dropped": 0,
        "events": events,
        "nonevents": n - events,
        "terms": terms,
        "crude": {},
        "fit": {"aic": 1.0},
        "missing_by_column": {"x": 0},
    }


@pytest.mark.parametrize(
    ("n", "events", "params", "withheld"),
    [
        (40, 20, 3, False),  # 37 residual df, 20 events, 20 non-events
        (12, 6, 3, True),  # 9 residual df < 10 (and 6 events)
        (100, 5, 3, True),  # 5 events < 10
        (100, 95, 3, True),  # 5 non-events < 10
        (23, 12, 13, False),  # 10 residual df: kept
        (22, 11, 13, True),  # 9 residual df
    ],
)
def test_model_withheld_for_low_df_or_few_events(n, events, params, withheld) -> None:
    out = apply_to_result(_model(n, events, params), _profile())
    assert bool(out.get("withheld")) is withheld
    if withheld:
        assert out["terms"] == [] and out["n"] is None
    else:
        assert len(out["terms"]) == params and out["n"] == n


# --------------------------------------------------------------------------- flow


def test_flow_counts_protected() -> None:
    flow = {
        "steps": [
            {
                "step": 0,
                "label": "All",
                "n": 100,
                "excluded": 0,
                "excluded_value_missing": 0,
                "excluded_not_met": 0,
                "missing_variables": {},
            },
            {
                "step": 1,
                "label": "eGFR",
                "n": 95,
                "excluded": 5,
                "excluded_value_missing": 2,
                "excluded_not_met": 3,
                "missing_variables": {"egfr": 2},
            },
        ]
    }
    out = apply_to_flow(flow, _profile())
    step = out["steps"][1]
    assert step["excluded"] is None and step["disclosure"]["excluded"] == "suppressed"
    # 100 - 95 would give the 5 back: one of the two n is hidden too
    assert out["steps"][0]["n"] is None or step["n"] is None
    assert step["excluded_value_missing"] is None and step["excluded_not_met"] is None
    assert flow["steps"][1]["excluded"] == 5  # input unchanged
    rounded = apply_to_flow(flow, OPENSAFELY)
    assert rounded["steps"][0]["disclosure"]["n"] in ("rounded", "secondary")


def test_real_flow(study, synthetic) -> None:
    _, steps = derive_cohort(synthetic, study)
    flow = {"steps": steps}
    out = apply_to_flow(flow, load_profile("threshold"))
    assert out["disclosure"]["profile"] == "threshold"
    assert [s["n"] for s in out["steps"]] == [s["n"] for s in steps]  # 401: nothing small


# --------------------------------------------------------------------------- real results


def test_real_results_resist_subtraction_at_threshold_30(results) -> None:
    """The default synthetic results, threshold raised until it bites."""
    profile = _profile(30)
    bitten = 0
    for result in results.values():
        if "rows" not in result or result.get("kind") == "listing":
            continue
        out = apply_to_result(result, profile)
        bitten += len(out["disclosure"]["actions"])
        if result["n"] < 30:  # table 7: 28 patients
            assert out["withheld"] and out["rows"] == [] and out["n"] is None
            continue
        assert _lines_with_one_hidden(out) == [], result["table"]
        assert recoverable(result, out) == [], result["table"]
        for row in out["rows"]:
            for key in ("n_by_group", "rank_sums", "mean_ranks", "crosstabs", "n"):
                assert key not in (row.get("test_details") or {})
    assert bitten > 20


def test_real_results_resist_subtraction_both_profiles(results) -> None:
    for name in ("threshold", "opensafely"):
        profile = load_profile(name)
        for result in results.values():
            if "rows" in result and result.get("kind") != "listing":
                out = apply_to_result(result, profile)
                if profile.round_to is None:
                    assert recoverable(result, out) == [], (name, result["table"])
                assert _lines_with_one_hidden(out) == [], (name, result["table"])


def test_input_unchanged_and_deterministic(results) -> None:
    profile = load_profile("threshold")
    for result in results.values():
        before = copy.deepcopy(result)
        first = apply_to_result(result, profile)
        assert result == before
        second = apply_to_result(result, profile)
        assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_real_listing_and_model(results) -> None:
    profile = load_profile("threshold")
    assert apply_to_result(results["table5"], profile)["withheld"]
    model = apply_to_result(results["table4"], profile)
    assert "withheld" not in model  # 393 patients, 27 events, 3 parameters
    assert model["terms"] == results["table4"]["terms"]
    assert model["n_dropped"] is None  # 8 < 10
    assert model["disclosure"]["marks"]["n_dropped"] == "suppressed"
    assert model["disclosure"]["marks"]["missing_by_column.albumin"] == "suppressed"
    rounded = apply_to_result(results["table4"], load_profile("opensafely"))
    assert (rounded["n"], rounded["events"], rounded["nonevents"]) == (395, 25, 365)
    assert rounded["disclosure"]["marks"]["n"] == "rounded"


# --------------------------------------------------------------------------- profiles


def test_off_and_none() -> None:
    assert load_profile(None) is None
    assert load_profile("off") is None
    assert load_profile("threshold").threshold == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("profiles: {p: {threshold: 10, colour: red}}", "unknown key"),
        ("profiles: {p: {threshold: ten}}", "whole number"),
        ("profiles: {p: {threshold: 10, redact_at_or_below: 7}}", "exactly one"),
        ("profiles: {p: {round_to: 5}}", "exactly one"),
        ("profiles: {p: {threshold: 10, suppress_zeros: maybe}}", "true or false"),
        ("nothing: here", "no 'profiles:'"),
    ],
)
def test_bad_profiles(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(text)
    with pytest.raises(AnalysisError, match=message):
        load_profile("p", path)


def test_unknown_profile() -> None:
    with pytest.raises(AnalysisError, match=r"unknown disclosure profile 'acro'.*threshold"):
        load_profile("acro")


def test_withheld_reason_names_no_count() -> None:
    out = apply_to_result(_model(12, 6, 3), _profile())
    assert "12" not in out["withheld"] and "residual degrees of freedom" in out["withheld"]


def test_crude_fit_withheld_alone() -> None:
    model = _model(40, 20, 3)
    model["crude"] = {"x": _model(15, 7, 2), "z": _model(40, 20, 2)}
    out = apply_to_result(model, _profile())
    assert "withheld" not in out
    assert out["crude"]["x"]["terms"] == [] and out["crude"]["x"]["withheld"]
    assert out["crude"]["z"]["terms"] == model["crude"]["z"]["terms"]


def test_protect_line_for_figure_group_sizes() -> None:
    """10 + 6 + 12 = 28 published elsewhere: 6 hidden, then 10 (smallest other)."""
    states = protect_line({"a": 10, "b": 6, "c": 12}, _profile())
    assert states == {"a": "secondary", "b": "suppressed", "c": None}
