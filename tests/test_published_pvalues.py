"""On the default synthetic cohort every p-value in paper.md lands on the paper's side of 0.05.

The published values are read from the study's published-figures file
(studies/baclofen_ckd.published.yaml, which restates paper.md); the test runs the
whole engine (policy, tests, model). The scorecard (tests/scorecard/) also checks
the factor of 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.study import load_study

_STUDY = load_study(Path(__file__).resolve().parents[1] / "studies" / "baclofen_ckd.yaml")
PUBLISHED = [e for e in _STUDY.published if e["kind"] in ("p_value", "significance")]


def _our_p(results: dict, table: str, variable: str) -> float:
    res = results[table]
    if "model" in res:
        return next(t["p_value"] for t in res["terms"] if t["term"] == variable)
    return next(r["p_value"] for r in res["rows"] if r["variable"] == variable)


@pytest.mark.parametrize(
    "item", PUBLISHED, ids=[f"{i['table']}-{i['variable']}" for i in PUBLISHED]
)
def test_same_side_of_alpha_as_the_paper(results, item):
    p = _our_p(results, item["table"], item["variable"])
    significant = item["value"] < 0.05 if item["kind"] == "p_value" else item["significant"]
    assert p is not None
    assert (p < 0.05) == significant, (
        f"ours {p:.4f}, paper {item['value'] if item['kind'] == 'p_value' else 'ns'}"
    )


def test_table2_all_other_factors_not_significant(results):
    """paper.md: in Table 2 every factor but DN, albumin and total dose is not significant."""
    planted = {"diabetic_nephropathy", "albumin", "total_dose"}
    rows = [r for r in results["table2"]["rows"] if r["variable"] not in planted]
    significant = sorted({r["variable"] for r in rows if r["p_value"] < 0.05})
    assert significant == []


def test_albumin_lower_and_dn_more_common_with_neurotoxicity(results):
    rows = {(r["variable"], r["level"]): r for r in results["table2"]["rows"]}
    albumin = rows[("albumin", None)]["stats"]
    assert albumin["1"]["mean"] < albumin["0"]["mean"]
    dn = rows[("diabetic_nephropathy", "1")]["stats"]
    assert dn["1"]["percent"] > dn["0"]["percent"]
    total = rows[("total_dose", None)]["stats"]
    assert total["1"]["median"] < total["0"]["median"]
