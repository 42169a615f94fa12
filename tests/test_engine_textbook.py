"""The generic engine through its CLI and a study file, on published textbook data.

Reference values are R's output (R 4.x, `stats` package), which reproduces the
textbook results; the R call sits beside each number.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def run_tables(data: Path, study: Path, out: Path) -> dict[str, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "tables", str(data), "--study", str(study),
         "--out", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json") if p.stem != "flow"}


def only_row(result: dict) -> dict:
    (row,) = result["rows"]
    return row


@pytest.fixture(scope="module")
def plants(tmp_path_factory):
    out = tmp_path_factory.mktemp("plants")
    return run_tables(FIXTURES / "plantgrowth.csv", FIXTURES / "plantgrowth.yaml", out)


def test_plantgrowth_anova(plants):
    row = only_row(plants["weight_anova"])
    # R: anova(lm(weight ~ group, PlantGrowth)) -> F = 4.84609 on 2 and 27 df, p = 0.01591
    # (Dobson 1983, An Introduction to Statistical Modelling, p. 9)
    assert row["test"] == "anova"
    assert row["statistic"] == pytest.approx(4.846087862, rel=1e-8)
    assert row["df"] == [2, 27]
    assert row["p_value"] == pytest.approx(0.01590996, rel=1e-5)
    # R: tapply(weight, group, mean); tapply(weight, group, sd)
    assert row["stats"]["ctrl"]["mean"] == pytest.approx(5.032, rel=1e-12)
    assert row["stats"]["trt1"]["sd"] == pytest.approx(0.7936757, rel=1e-6)


def test_plantgrowth_kruskal_and_spss_quartiles(plants):
    row = only_row(plants["weight_kruskal"])
    # R: kruskal.test(weight ~ group, PlantGrowth) -> 7.9882287494437, p = 0.0184237557315
    assert row["test"] == "kruskal_wallis"
    assert row["statistic"] == pytest.approx(7.9882287494437, rel=1e-9)
    assert row["p_value"] == pytest.approx(0.0184237557315, rel=1e-9)
    # R: quantile(weight[group == "ctrl"], c(.25, .75), type = 6)  (SPSS HAVERAGE)
    assert row["summary"] == "median_iqr"
    assert row["stats"]["ctrl"]["q1"] == pytest.approx(4.5225)
    assert row["stats"]["ctrl"]["q3"] == pytest.approx(5.3925)
    assert row["stats"]["trt2"]["q3"] == pytest.approx(5.8875)


def test_plantgrowth_logistic_with_a_three_level_predictor(plants):
    model = plants["heavy_by_group"]
    terms = {t["term"]: t for t in model["terms"]}
    # The model is saturated, so the MLE is known in closed form from the 2x3 table
    # (>= 5 g / < 5 g: ctrl 6/4, trt1 2/8, trt2 9/1): B = log odds ratio vs ctrl, and
    # SE = sqrt(1/a + 1/b + 1/c + 1/d) (Woolf). R's glm(I(weight >= 5) ~ group, binomial)
    # agrees to its convergence tolerance (B(trt2) = 1.791759452, exact log 6 = 1.791759469).
    assert terms["const"]["estimate"] == pytest.approx(math.log(6 / 4), rel=1e-9)
    assert terms["group[trt1]"]["estimate"] == pytest.approx(math.log((2 / 8) / (6 / 4)), rel=1e-9)
    assert terms["group[trt2]"]["estimate"] == pytest.approx(math.log((9 / 1) / (6 / 4)), rel=1e-9)
    se_trt2 = math.sqrt(1 / 9 + 1 / 1 + 1 / 6 + 1 / 4)
    assert terms["group[trt2]"]["se"] == pytest.approx(se_trt2, rel=1e-7)
    z = math.log(6) / se_trt2
    assert terms["group[trt2]"]["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-7)
    assert terms["group[trt2]"]["ci_high"] == pytest.approx(
        6 * math.exp(1.959963984540054 * se_trt2), rel=1e-7
    )
    assert model["term_labels"]["group[trt1]"] == "Treatment (Treatment 1 vs Control)"


@pytest.fixture(scope="module")
def sleep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sleep")
    return run_tables(FIXTURES / "sleep.csv", FIXTURES / "sleep.yaml", out)


def test_sleep_student_t(sleep):
    row = only_row(sleep["student"])
    # R: t.test(extra ~ group, sleep, var.equal = TRUE) -> t = -1.86081346749, df 18,
    #    p = 0.0791867142159
    assert row["statistic"] == pytest.approx(-1.86081346749, rel=1e-9)
    assert row["df"] == pytest.approx(18)
    assert row["p_value"] == pytest.approx(0.0791867142159, rel=1e-9)


def test_sleep_welch_t(sleep):
    row = only_row(sleep["welch"])
    # R: t.test(extra ~ group, sleep) -> t = -1.86081346749, df = 17.7764735162,
    #    p = 0.0793941401874
    assert row["test"] == "welch_t"
    assert row["df"] == pytest.approx(17.7764735162, rel=1e-9)
    assert row["p_value"] == pytest.approx(0.0793941401874, rel=1e-9)


def test_sleep_mann_whitney(sleep):
    row = only_row(sleep["mann_whitney"])
    # R: wilcox.test(extra ~ group, sleep, exact = FALSE, correct = FALSE)
    #    -> W = 25.5, p = 0.063722250155 (SPSS's asymptotic, tie-corrected p)
    assert row["test"] == "mann_whitney"
    assert row["statistic"] == pytest.approx(25.5)
    assert row["p_value"] == pytest.approx(0.063722250155, rel=1e-9)


def test_party_chi_square(tmp_path):
    counts = {("F", "D"): 762, ("F", "I"): 327, ("F", "R"): 468,
              ("M", "D"): 484, ("M", "I"): 239, ("M", "R"): 477}  # fmt: skip
    rows = [k for k, n in counts.items() for _ in range(n)]
    data = tmp_path / "party.csv"
    pd.DataFrame(rows, columns=["gender", "party"]).to_csv(data, index=False)
    result = run_tables(data, FIXTURES / "party.yaml", tmp_path / "out")["party_by_gender"]
    row = result["rows"][0]
    # R: chisq.test(as.table(rbind(c(762, 327, 468), c(484, 239, 477))))
    #    -> X-squared = 30.0701490958, df = 2, p = 2.95358918321e-07; min expected 246.3547
    assert row["test"] == "chi_square"
    assert row["statistic"] == pytest.approx(30.0701490958, rel=1e-9)
    assert row["df"] == 2
    assert row["p_value"] == pytest.approx(2.95358918321e-07, rel=1e-8)
    assert row["test_details"]["expected_min"] == pytest.approx(246.3547, rel=1e-6)
    # percentages of the group's non-missing values, by hand: 762 / 1557
    assert row["stats"]["F"]["percent"] == pytest.approx(100 * 762 / 1557)


def test_toothgrowth_numeric_and_text_codes(tmp_path):
    res = run_tables(FIXTURES / "toothgrowth.csv", FIXTURES / "toothgrowth.yaml", tmp_path)
    welch = only_row(res["by_supp"])
    # R: t.test(len ~ supp, ToothGrowth) -> t = 1.91526826869527, df = 55.3094326826,
    #    p = 0.0606345078809
    assert (welch["test"], welch["summary"]) == ("welch_t", "median_iqr")
    assert welch["statistic"] == pytest.approx(1.91526826869527, rel=1e-9)
    assert welch["df"] == pytest.approx(55.3094326826, rel=1e-9)
    assert welch["p_value"] == pytest.approx(0.0606345078809, rel=1e-9)
    kw = only_row(res["by_dose"])
    # R: kruskal.test(len ~ dose, ToothGrowth) -> 40.668935265, p = 1.47520683111e-09
    assert kw["statistic"] == pytest.approx(40.668935265, rel=1e-9)
    assert kw["p_value"] == pytest.approx(1.47520683111e-09, rel=1e-8)
    assert [g["n"] for g in res["by_dose"]["groups"]] == [20, 20, 20]
    anova = only_row(res["by_dose_anova"])
    # R: summary(aov(len ~ factor(dose), ToothGrowth)) -> F = 67.41574 on 2 and 57 df
    assert anova["statistic"] == pytest.approx(67.41574, rel=1e-6)
    assert anova["df"] == [2, 57]
