"""Firth's fit and the tests of a predictor as a whole, against logistf 1.26.1 itself.

Reference values: reference/logistf_reference.R (logistf 1.26.1 built from its source,
R 4.2.2; car 3.1-1 for the maximum-likelihood Wald tests), stored in
reference/logistf_reference.csv with the versions that made them. Data: logistf's
own ``sex2`` (reference/sex2.csv, checked equal to ``data(sex2)`` by the script) and
R's ``infert`` with education as a three-level factor and five values of
``spontaneous`` set missing (reference/infert.csv, written by the script).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats import firth_logistic, logistic_regression

REF = Path(__file__).parent / "reference"
SEX2 = ["age", "oc", "vic", "vicl", "vis", "dia"]
INFERT = ["age", "education2", "education3", "spontaneous", "induced"]


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return pd.read_csv(REF / "logistf_reference.csv", dtype={"value": str}, keep_default_na=False)


def values(ref: pd.DataFrame, case: str, quantity: str) -> np.ndarray:
    rows = ref[(ref.case == case) & (ref.quantity == quantity)]
    assert len(rows), (case, quantity)
    return rows.value.astype(float).to_numpy()


def col(result: dict, key: str) -> np.ndarray:
    return np.array([t[key] for t in result["terms"]], dtype=float)


def test_reference_file_records_its_versions(ref):
    versions = ref[(ref.case == "meta") & (ref.quantity == "version")]
    meta = dict(zip(versions.term, versions.value, strict=True))
    assert meta["logistf"] == "1.26.1"
    assert meta["R"].startswith("R version 4.2.2")


@pytest.fixture(scope="module")
def sex2_fit() -> dict:
    d = pd.read_csv(REF / "sex2.csv")
    return firth_logistic(d["case"].to_numpy(), d[SEX2], groups={"vic+vicl": ["vic", "vicl"]})


def test_firth_sex2_matches_logistf(sex2_fit, ref):
    res = sex2_fit
    # logistf(case ~ age + oc + vic + vicl + vis + dia, sex2), tolerances 1e-12
    assert col(res, "estimate") == pytest.approx(values(ref, "sex2", "coef"), rel=1e-6)
    assert col(res, "p_value") == pytest.approx(values(ref, "sex2", "plr_p"), rel=1e-6)
    assert col(res, "lr_statistic") == pytest.approx(values(ref, "sex2", "plr_chisq"), rel=1e-6)
    # fit$ci.lower, fit$ci.upper (profile penalised likelihood, B scale)
    assert np.log(col(res, "ci_low")) == pytest.approx(values(ref, "sex2", "ci_lower"), abs=1e-6)
    assert np.log(col(res, "ci_high")) == pytest.approx(values(ref, "sex2", "ci_upper"), abs=1e-6)
    # fit$loglik: full and null penalised log-likelihoods
    full, null = values(ref, "sex2", "loglik")
    assert res["fit"]["penalized_loglik"] == pytest.approx(full, rel=1e-9)
    assert res["fit"]["penalized_loglik_null"] == pytest.approx(null, rel=1e-9)


def test_firth_standard_errors_both_conventions(sex2_fit, ref):
    # sqrt(diag(vcov(fit))): what logistf 1.26.1 prints as se(coef)
    assert col(sex2_fit, "se_augmented") == pytest.approx(
        values(ref, "sex2", "se_logistf"), rel=1e-6
    )
    # R: sqrt(diag(solve(t(X) %*% diag(p(1-p)) %*% X))) at logistf's estimates
    xwx = values(ref, "sex2", "se_xwx")
    assert col(sex2_fit, "se") == pytest.approx(xwx, rel=1e-6)
    # the two conventions differ by up to 0.17 here (dia), as documented
    gap = xwx - values(ref, "sex2", "se_logistf")
    assert gap.max() == pytest.approx(0.1698, abs=1e-3)
    # a logistf printout made with its default tolerances (1e-5) agrees to ~1e-5
    assert col(sex2_fit, "se_augmented") == pytest.approx(
        values(ref, "sex2", "default_se_logistf"), abs=2e-5
    )


def test_firth_joint_test_matches_logistftest(sex2_fit, ref):
    (test,) = sex2_fit["predictor_tests"]
    chisq, df, p = values(ref, "sex2", "joint_vic_vicl")  # logistftest(fit, test = c(4, 5))
    assert test["df"] == df == 2
    assert test["lr_statistic"] == pytest.approx(chisq, rel=1e-6)
    assert test["lr_p_value"] == pytest.approx(p, rel=1e-6)


@pytest.fixture(scope="module")
def infert() -> pd.DataFrame:
    d = pd.read_csv(REF / "infert.csv")
    for code in (2, 3):
        d[f"education{code}"] = (d["education"] == code).astype(float)
    return d


def test_firth_infert_factor_matches_logistf(infert, ref):
    groups = {"age": ["age"], "education": ["education2", "education3"],
              "spontaneous": ["spontaneous"], "induced": ["induced"]}  # fmt: skip
    res = firth_logistic(infert["case"].to_numpy(), infert[INFERT], groups=groups)
    # logistf on the 243 complete cases (spontaneous missing in 5 rows)
    assert res["n"] == 243 and res["n_dropped"] == 5
    case = "infert_firth"
    assert col(res, "estimate") == pytest.approx(values(ref, case, "coef"), rel=1e-6)
    assert col(res, "se") == pytest.approx(values(ref, case, "se_xwx"), rel=1e-6)
    assert col(res, "se_augmented") == pytest.approx(values(ref, case, "se_logistf"), rel=1e-6)
    assert col(res, "p_value") == pytest.approx(values(ref, case, "plr_p"), rel=1e-6)
    assert np.log(col(res, "ci_low")) == pytest.approx(values(ref, case, "ci_lower"), abs=1e-6)
    assert np.log(col(res, "ci_high")) == pytest.approx(values(ref, case, "ci_upper"), abs=1e-6)
    tests = {t["predictor"]: t for t in res["predictor_tests"]}
    chisq, df, p = values(ref, case, "joint_education")  # logistftest(fit, test = c(3, 4))
    assert tests["education"]["df"] == df == 2
    assert tests["education"]["lr_statistic"] == pytest.approx(chisq, rel=1e-6)
    assert tests["education"]["lr_p_value"] == pytest.approx(p, rel=1e-6)
    # a one-column predictor's test is its term's penalised likelihood-ratio test
    plr = dict(zip(["const", *INFERT], values(ref, case, "plr_chisq"), strict=True))
    assert tests["spontaneous"]["lr_statistic"] == pytest.approx(plr["spontaneous"], rel=1e-6)


def test_ml_joint_wald_and_lr_match_car_and_drop1(infert, ref):
    groups = {"age": ["age"], "education": ["education2", "education3"],
              "spontaneous": ["spontaneous"], "induced": ["induced"]}  # fmt: skip
    res = logistic_regression(infert["case"].to_numpy(), infert[INFERT], groups=groups)
    case = "infert_ml"
    assert res["n"] == values(ref, case, "n")[0] == 243
    assert col(res, "estimate") == pytest.approx(values(ref, case, "coef"), rel=1e-7)
    tests = {t["predictor"]: t for t in res["predictor_tests"]}
    names = ["age", "education", "spontaneous", "induced"]
    # car::Anova(fit, type = 3, test.statistic = "Wald"), rows after (Intercept)
    wald = dict(zip(["(Intercept)", *names], values(ref, case, "anova3_wald_chisq"), strict=True))
    wald_p = dict(zip(["(Intercept)", *names], values(ref, case, "anova3_wald_p"), strict=True))
    # drop1(fit, test = "LRT"): the reduced fits use the full fit's 243 rows
    lrt = dict(zip(names, values(ref, case, "drop1_lrt"), strict=True))
    lrt_p = dict(zip(names, values(ref, case, "drop1_p"), strict=True))
    for name in names:
        assert tests[name]["wald"] == pytest.approx(wald[name], rel=1e-6), name
        assert tests[name]["wald_p_value"] == pytest.approx(wald_p[name], rel=1e-6), name
        assert tests[name]["lr_statistic"] == pytest.approx(lrt[name], rel=1e-6), name
        assert tests[name]["lr_p_value"] == pytest.approx(lrt_p[name], rel=1e-6), name
    assert tests["education"]["df"] == 2 and tests["age"]["df"] == 1
    # by hand: t(b) %*% solve(V) %*% b over the education coefficients
    (hand,) = values(ref, case, "hand_wald_education")
    assert tests["education"]["wald"] == pytest.approx(hand, rel=1e-6)


def test_predictor_tests_refuse_unknown_columns(infert):
    with pytest.raises(ValueError, match="not in X"):
        logistic_regression(infert["case"].to_numpy(), infert[INFERT], groups={"x": ["nope"]})
