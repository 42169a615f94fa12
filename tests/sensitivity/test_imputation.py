"""Multiple imputation versus complete cases (analysis.sensitivity.imputation).

Rubin's rules with the Barnard-Rubin df are checked against R's mice::pool.scalar
(tests/sensitivity/reference_pool.R, mice 3.15.0; its printed values are copied here)
and a hand calculation; the imputation itself by what can be known without it (values
imputed per variable, no missing values -> the complete-case fit, the donor pool).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.sensitivity.imputation import _imputer, rubin_pool, run_imputation
from analysis.study import Study

# fmt: off
# inputs of tests/sensitivity/reference_pool.R and what R printed (digits = 15)
Q1 = [-1.52, -1.41, -1.63, -1.47, -1.58]
U1 = [0.170, 0.162, 0.181, 0.166, 0.175]
Q2 = [0.46, 0.52, 0.41, 0.49, 0.44, 0.58, 0.39, 0.47, 0.51, 0.43,
      0.45, 0.50, 0.42, 0.55, 0.48, 0.40, 0.53, 0.46, 0.44, 0.49]
U2 = [0.188, 0.190, 0.186, 0.189, 0.187, 0.192, 0.185, 0.188, 0.190, 0.186,
      0.187, 0.189, 0.186, 0.191, 0.188, 0.185, 0.190, 0.188, 0.187, 0.189]
Q3 = [1.2, 0.4, 2.1, 0.9, 1.6]
U3 = [0.30, 0.25, 0.40, 0.28, 0.35]
R_POOL = [
    # (Q, U, n, k), qbar, ubar, b, t, df, r, fmi
    ((Q1, U1, 120, 3), -1.522, 0.1708, 0.00757, 0.179884, 102.127384509708,
     0.0531850117096019, 0.0685630251608095),
    ((Q2, U2, 401, 3), 0.471, 0.18805, 0.00259894736842105, 0.190778894736842, 388.716398065,
     0.0145115380847759, 0.0193366679752954),
    ((Q3, U3, 30, 4), 1.24, 0.316, 0.423, 0.8236, 4.93507852151603, 1.60632911392405,
     0.713023730946569),
    ((Q1, U1, math.inf, 1), -1.522, 0.1708, 0.00757, 0.179884, 1568.52271581972,
     0.0531850117096019, 0.0517075937582147),
]
# fmt: on


@pytest.mark.parametrize("case", R_POOL, ids=["m5_n120", "m20_n401", "small_df", "n_inf"])
def test_pool_matches_mice_pool_scalar(case) -> None:
    (q, u, n, k), qbar, ubar, b, t, df, r, fmi = case
    out = rubin_pool(np.array(q), np.array(u), n=n, k=k)
    for key, value in (("qbar", qbar), ("ubar", ubar), ("b", b), ("t", t), ("df", df),
                       ("riv", r), ("fmi", fmi)):  # fmt: skip
        assert out[key] == pytest.approx(value, rel=1e-12), key


def test_pool_by_hand() -> None:
    """Q = 1, 2, 3; U = 1, 1, 1; n = 10, k = 2 (nu_com = 8), worked in fractions."""
    out = rubin_pool(np.array([1.0, 2.0, 3.0]), np.ones(3), n=10, k=2)
    # qbar 2, ubar 1, B 1, T = 1 + (4/3) 1 = 7/3, r = 4/3, lambda = (4/3)/(7/3) = 4/7
    t, lam, riv = 7 / 3, 4 / 7, 4 / 3
    df_old = 2 / lam**2  # (m - 1)/lambda^2 = 49/8
    df_obs = 9 / 11 * 8 * (1 - lam)  # (nu_com + 1)/(nu_com + 3) nu_com (1 - lambda) = 216/77
    df = df_old * df_obs / (df_old + df_obs)
    assert df_old == pytest.approx(49 / 8) and df_obs == pytest.approx(216 / 77)
    assert out["t"] == pytest.approx(t) and out["lambda"] == pytest.approx(lam)
    assert out["riv"] == pytest.approx(riv) and out["df"] == pytest.approx(df, rel=1e-12)
    assert out["fmi"] == pytest.approx((riv + 2 / (df + 3)) / (riv + 1), rel=1e-12)
    half = stats.t.ppf(0.975, df) * math.sqrt(t)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((2 - half, 2 + half), rel=1e-12)
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(2 / math.sqrt(t), df), rel=1e-12)


def test_donor_pool_is_five_for_every_variable(study: Study) -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0, 5.0, 6.0], "b": [0.0, 1, 0, 1, np.nan, 1],
                          "c": [1.0, 2, 3, 4, 5, 6]})  # fmt: skip
    imp = _imputer(frame, study, k_pmm=5, seed=1)
    assert imp.k_pmm == 5  # set_imputer would otherwise leave statsmodels' 20


@pytest.fixture(scope="module")
def default_run(cohort: pd.DataFrame, study: Study) -> dict:
    return run_imputation(cohort, study)


def test_default_synthetic_cohort(default_run: dict, cohort: pd.DataFrame, results) -> None:
    run = default_run
    json.dumps(run, allow_nan=False)
    assert run["kind"] == "sensitivity" and run["analysis"] == "imputation"
    assert run["settings"]["imputations"] >= 20 and run["settings"]["k_pmm"] == 5
    assert set(run["settings"]["auxiliary"]) == {"age", "sex", "ckd_group"}
    for name, count in run["imputed"].items():
        assert count == int(cohort[name].isna().sum())
    assert run["n_rows"] == len(cohort)
    model = results["table4"]
    assert run["complete_case"] == {"n": model["n"], "events": model["events"]}
    for row in run["terms"]:
        wald = next(t for t in model["terms"] if t["term"] == row["term"])
        assert row["complete_case"]["odds_ratio"] == wald["odds_ratio"]
        mi = row["multiple_imputation"]
        assert mi["ci_low"] < mi["odds_ratio"] < mi["ci_high"]
        assert 0 <= mi["fmi"] < 1 and mi["df"] > 0
    block = run["conclusion"]
    assert {"albumin_independent", "diabetic_nephropathy_independent", "holds"} <= set(block)
    assert block["text"].startswith("The paper's conclusion")


def test_deterministic(cohort: pd.DataFrame, study: Study) -> None:
    a = run_imputation(cohort, study, imputations=3, burn_in=2, between=1, seed=5)
    b = run_imputation(cohort, study, imputations=3, burn_in=2, between=1, seed=5)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_nothing_missing_gives_the_complete_case_fit(cohort: pd.DataFrame, study: Study) -> None:
    """With every value recorded each completed dataset is the data: B = 0, MI = CC."""
    full = cohort.dropna(subset=["albumin", "diabetic_nephropathy", "neurotoxicity", "age",
                                 "sex", "ckd_group"])  # fmt: skip
    run = run_imputation(full, study, imputations=3, burn_in=1, between=1)
    assert not any(run["imputed"].values())
    for row in run["terms"]:
        cc, mi = row["complete_case"], row["multiple_imputation"]
        assert mi["estimate"] == pytest.approx(cc["estimate"], rel=1e-8)
        assert mi["se"] == pytest.approx(cc["se"], rel=1e-6)
        assert mi["b"] == pytest.approx(0.0, abs=1e-20)


def test_design_matrices_without_patsy_are_patsys(cohort, study):
    """The chained equations' design matrices, filled in from the data after patsy's
    first build, are patsy's own on every update (values, columns, layout), and the
    chain draws the same imputations as statsmodels' MICEData."""
    from statsmodels.formula._manager import FormulaManager
    from statsmodels.imputation.mice import MICEData

    from analysis.sensitivity.imputation import _same_frame

    columns = ["neurotoxicity", "albumin", "diabetic_nephropathy", "age", "sex", "ckd_group"]
    frame = cohort[columns].astype(float).reset_index(drop=True)
    frame.loc[::7, "age"] = np.nan  # a second incomplete variable, a factor among the others
    fast = _imputer(frame, study, 5, 11)
    plain = MICEData(frame, k_pmm=5, rng=np.random.default_rng(11))
    for name, formula in fast.conditional_formula.items():
        if name in fast.ix_miss and len(fast.ix_miss[name]):
            plain.set_imputer(name, formula=formula.split("~", 1)[1].strip(), k_pmm=5)
    plain.k_pmm = 5
    incomplete = [n for n in columns if frame[n].isna().any()]
    assert len(incomplete) >= 2 and "C(ckd_group)" in fast.conditional_formula["age"]
    for _ in range(3):
        fast.update_all(2)
        plain.update_all(2)
        pd.testing.assert_frame_equal(fast.data, plain.data, check_exact=True)
        for name in incomplete:
            mine = fast._matrices(name)
            theirs = FormulaManager().get_matrices(
                fast.conditional_formula[name], fast.data, pandas=True
            )
            assert all(_same_frame(a, b) for a, b in zip(mine, theirs, strict=True))
            assert fast._designs[name] is not None  # filled in, not patsy's
