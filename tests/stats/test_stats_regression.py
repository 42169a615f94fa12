"""Logistic regression (ML and Firth), Hosmer-Lemeshow and c-statistic against R.

Reference values: reference/regression_reference.R (base R glm; Firth coded
from its definition in R because logistf is not packaged for Debian), on
reference/logit.csv (make_fixtures.R) and reference/sex2.csv (the sex2 data
shipped with logistf: Heinze & Schemper 2002 / LogXact manual).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats import c_statistic, firth_logistic, hosmer_lemeshow, logistic_regression

REF = Path(__file__).parent / "reference"
REL = 1e-6


def approx(values, rel=REL, abs=None):
    return pytest.approx(values, rel=rel, abs=abs)


def col(terms: list[dict], key: str) -> list[float]:
    return [t[key] for t in terms]


@pytest.fixture(scope="module")
def logit_fit() -> dict:
    d = pd.read_csv(REF / "logit.csv")
    return logistic_regression(d["event"].to_numpy(), d[["age", "male", "ckd", "dose"]])


@pytest.fixture(scope="module")
def sex2() -> pd.DataFrame:
    return pd.read_csv(REF / "sex2.csv")


def test_logit_terms_match_glm(logit_fit):
    res = logit_fit
    assert res["method"] == "logit_mle" and res["converged"] is True
    # R: length(fit$y) (complete cases: 2 missing age, 1 missing event)
    assert res["n"] == 297 and res["n_dropped"] == 3
    assert res["events"] == 104 and res["events_per_variable"] == pytest.approx(104 / 4)
    terms = res["terms"]
    assert col(terms, "term") == ["const", "age", "male", "ckd", "dose"]
    # R: summary(glm(event ~ age + male + ckd + dose, binomial))$coefficients
    assert col(terms, "estimate") == approx(
        [
            -7.9626696017033,
            0.0620831235218893,
            0.68732179202569,
            1.53134500685961,
            0.0746058063391774,
        ]
    )
    assert col(terms, "se") == approx(
        [
            1.00487421247899,
            0.0110047130666837,
            0.298119493631455,
            0.305984213179241,
            0.0138770758769486,
        ]
    )
    assert col(terms, "wald") == approx(
        [62.790506868061, 31.826557885117, 5.31544315097423, 25.0465580756517, 28.9034264941627]
    )
    assert col(terms, "p_value") == approx(
        [2.29904293912571e-15, 1.68571947594116e-08, 0.0211372170748592,
         5.59625615761998e-07, 7.60782118971595e-08]
    )  # fmt: skip
    # R: exp(confint.default(fit))  (Wald, as SPSS's "95% C.I. for EXP(B)")
    assert col(terms, "ci_low") == approx(
        [
            4.85854299557203e-05,
            1.04134618236386,
            1.10851171839731,
            2.53863610224208,
            1.04854893049489,
        ]
    )
    assert col(terms, "ci_high") == approx(
        [
            0.00249578408592915,
            1.08725042652519,
            3.56664458847238,
            8.42381694591707,
            1.10716686132173,
        ]
    )
    assert terms[1]["odds_ratio"] == pytest.approx(math.exp(0.0620831235218893), rel=REL)
    assert all(t["df"] == 1 for t in terms)


def test_logit_fit_statistics(logit_fit):
    fit = logit_fit["fit"]
    # R: fit$deviance (= -2LL), fit$null.deviance
    assert fit["minus2ll"] == pytest.approx(288.825785396596, rel=1e-9)
    assert fit["minus2ll_null"] == pytest.approx(384.645170510112, rel=1e-9)
    # R, by hand: 1 - exp(2 (LL0 - LL) / n) and that / (1 - exp(2 LL0 / n))
    assert fit["cox_snell_r2"] == pytest.approx(0.275754019553694, rel=1e-8)
    assert fit["nagelkerke_r2"] == pytest.approx(0.379758494376052, rel=1e-8)
    # R, by hand: concordance over all event/non-event pairs (outer())
    assert fit["c_statistic"] == pytest.approx(0.823684734954165, rel=1e-9)
    # R, by hand: hl_type2() (quantile type 2 cut points, ties kept together)
    hl = fit["hosmer_lemeshow"]
    assert hl["statistic"] == pytest.approx(4.43530103073088, rel=1e-6)
    assert hl["df"] == 8 and hl["groups"] == 10
    assert hl["p_value"] == pytest.approx(0.815870597375307, rel=1e-6)
    assert "quantile type 2" in hl["rule"]
    assert fit["lr_statistic"] == pytest.approx(384.645170510112 - 288.825785396596, rel=1e-8)
    assert fit["lr_df"] == 4
    json.dumps(logit_fit)


def test_logit_sex2_without_dia_ties(sex2):
    res = logistic_regression(sex2["case"].to_numpy(), sex2[["age", "oc", "vic", "vicl", "vis"]])
    # R: glm(case ~ age + oc + vic + vicl + vis, binomial, sex2)
    assert col(res["terms"], "estimate") == approx(
        [0.2257998819234, -1.04053870821575, -0.138726652136652,
         2.36916304106947, -2.28609466729893, -0.70121416250107]
    )  # fmt: skip
    assert col(res["terms"], "se") == approx(
        [0.486764027901406, 0.413622116570472, 0.445819964610134,
         0.565197736083776, 0.559697543065825, 0.414132113894482]
    )  # fmt: skip
    fit = res["fit"]
    assert fit["minus2ll"] == pytest.approx(286.267662184524, rel=1e-9)
    assert fit["cox_snell_r2"] == pytest.approx(0.16539047470555, rel=1e-8)
    assert fit["nagelkerke_r2"] == pytest.approx(0.221092553310585, rel=1e-8)
    assert fit["c_statistic"] == pytest.approx(0.716090331686662, rel=1e-9)
    # binary predictors -> tied fitted p: only 7 risk groups survive
    hl = fit["hosmer_lemeshow"]
    assert (hl["groups"], hl["df"]) == (7, 5)
    assert hl["statistic"] == pytest.approx(1.23611874171677, rel=1e-6)
    assert hl["p_value"] == pytest.approx(0.941365687367023, rel=1e-6)
    assert res["separation"] is False and res["warnings"] == []


def test_hosmer_lemeshow_ties_and_empty_groups():
    p = np.repeat([0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9], [7, 5, 9, 4, 6, 5, 4])
    y = np.array(list("1000000100000000001000111010101111101111"), dtype=float)  # y_t in R
    res = hosmer_lemeshow(y, p)
    # R: hl_type2(y_t, p_t); cut points quantile(p_t, (1:9)/10, type = 2) =
    # .05 .1 .15 .2 .2 .35 .5 .7 .8 -> groups 3, 5 and 9 are empty
    assert res["statistic"] == pytest.approx(5.76640318745582, rel=1e-10)
    assert (res["df"], res["groups"]) == (5, 7)
    assert res["p_value"] == pytest.approx(0.329616544751309, rel=1e-10)
    assert [row["n"] for row in res["table"]] == [7, 5, 9, 4, 6, 5, 4]
    # hand: tied probabilities are never split across groups
    assert [row["p_max"] for row in res["table"]] == [0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9]
    # R: concordance over all pairs, ties count 1/2
    assert c_statistic(y, p) == pytest.approx(0.828644501278772, rel=1e-12)


def test_separation_detected_and_reported(sex2):
    res = logistic_regression(
        sex2["case"].to_numpy(), sex2[["age", "oc", "vic", "vicl", "vis", "dia"]]
    )
    # R: table(dia, case): all 7 dia = 1 subjects are cases; glm gives B(dia) ~ 30.7,
    # SE ~ 9e5 ("fitted probabilities numerically 0 or 1 occurred")
    assert res["separation"] is True
    assert any("separation" in w and "dia" in w for w in res["warnings"])
    assert res["converged"] is False
    json.dumps(res)


def test_epv_warning():
    d = pd.read_csv(REF / "logit.csv").iloc[:80]
    res = logistic_regression(d["event"].to_numpy(), d[["age", "male", "ckd", "dose"]])
    assert res["events_per_variable"] < 10
    assert any("events per variable" in w for w in res["warnings"])


def test_input_errors():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})
    y = np.array([0, 1, 1, 0])
    with pytest.raises(ValueError, match="0/1"):
        logistic_regression(np.array([0, 2, 1, 0]), X)
    with pytest.raises(ValueError, match="not numeric"):
        logistic_regression(y, X.assign(c=["u", "v", "w", "x"]))
    with pytest.raises(ValueError, match="constant"):
        logistic_regression(y, X.assign(c=1.0))
    with pytest.raises(ValueError, match="collinear"):
        logistic_regression(y, X.assign(c=2 * X["a"] + 1))
    with pytest.raises(ValueError, match="'const'"):
        logistic_regression(y, X.assign(const=[1.0, 2.0, 3.0, 5.0]))
    with pytest.raises(ValueError, match="events"):
        logistic_regression(np.zeros(4), X)


def test_firth_sex2(sex2):
    res = firth_logistic(sex2["case"].to_numpy(), sex2[["age", "oc", "vic", "vicl", "vis", "dia"]])
    terms = res["terms"]
    assert res["method"] == "firth" and res["converged"] is True and res["warnings"] == []
    assert res["ci_method"] == "profile_penalized_likelihood"
    # logistf's own test suite (tests/testthat/test-basic.R in georgheinze/logistf):
    # logistf(case ~ age+oc+vic+vicl+vis+dia, sex2)$coefficients
    assert col(terms, "estimate") == approx(
        [0.12025404, -1.10598130, -0.06881673, 2.26887464, -2.11140816, -0.78831694, 3.09601263],
        rel=1e-6,
    )
    # R, Firth from its definition (regression_reference.R): B, SE = sqrt(diag((X'WX)^-1))
    assert col(terms, "estimate") == approx(
        [0.120254049133833, -1.10598133138127, -0.0688167270619172, 2.26887465223914,
         -2.11140818530321, -0.788316951396695, 3.09601182735144]
    )  # fmt: skip
    assert col(terms, "se") == approx(
        [0.485541505922753, 0.42366012870923, 0.443793445906167, 0.548415958970766,
         0.543082354901508, 0.417367565775257, 1.67500841359362]
    )  # fmt: skip
    # R: penalised likelihood-ratio chi-square and p for B_j = 0
    assert col(terms, "lr_statistic") == approx(
        [0.0628629791791013, 7.50773092493796, 0.0246704356212604, 22.9313902229453,
         19.1040725213439, 3.69740975476941, 7.89693138683276]
    )  # fmt: skip
    assert col(terms, "p_value") == approx(
        [0.802026802337319, 0.00614347184508894, 0.875191058626056, 1.67887695871628e-06,
         1.23780476281422e-05, 0.0544970080615323, 0.00495187338639028]
    )  # fmt: skip
    # R: profile penalised-likelihood 95% limits on the B scale (uniroot, tol 1e-11)
    lo = [-0.818559106359259, -1.97378838283734, -0.941436330165298, 1.27302157119854,
          -3.26086111752892, -1.60808788952783, 0.774568169217096]  # fmt: skip
    hi = [1.07315121602459, -0.307425141575735, 0.789202021260499, 3.43543273091533,
          -1.11773494698492, 0.0151846790660076, 8.0302935221593]  # fmt: skip
    assert np.log(col(terms, "ci_low")) == approx(lo, rel=0, abs=1e-6)
    assert np.log(col(terms, "ci_high")) == approx(hi, rel=0, abs=1e-6)
    fit = res["fit"]
    # R: pen_ll(bf); logistf's null model (intercept only, full-design penalty)
    assert fit["penalized_loglik"] == pytest.approx(-132.539379532844, rel=1e-9)
    assert fit["penalized_loglik_null"] == pytest.approx(-157.084700928862, rel=1e-9)
    assert fit["lr_statistic"] == pytest.approx(49.0906427920359, rel=1e-7)
    assert fit["lr_p_value"] == pytest.approx(7.15089035403562e-09, rel=1e-6)
    json.dumps(res)


def test_singular_newton_falls_back_and_reports_separation():
    # Albumin separates the outcome completely in these 10 rows (the example site export
    # of docs/own-data.md): Newton's information matrix becomes singular.
    y = np.array([0, 1, 0, 1, 0, 1, 0, 0, 1, 0], dtype=float)
    X = pd.DataFrame({
        "albumin": [3.8, 2.9, 3.5, 2.7, 4.1, 3.0, 4.0, 3.6, 3.3, 4.2],
        "dn": [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0],
    })  # fmt: skip
    res = logistic_regression(y, X)
    assert res["converged"] is False
    assert res["separation"] is True
    assert any("singular information matrix" in w for w in res["warnings"])
    firth = firth_logistic(y, X)
    assert all(np.isfinite(t["estimate"]) for t in firth["terms"])
