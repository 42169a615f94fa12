"""Multiple imputation by chained equations versus complete cases for a study model.

:func:`run_imputation` imputes the model's variables with statsmodels' ``MICEData``
(fully conditional specification: each incomplete variable in turn is regressed by
ordinary least squares on the others, the coefficients are perturbed by a draw from
their approximate posterior, and each missing value takes an observed value drawn at
random among the ``k_pmm`` donors with the closest predicted means -- predictive mean
matching, so imputed values are always values that occur, 0/1 stay 0/1), fits the
logistic model on every completed dataset and pools by Rubin's rules with the
Barnard & Rubin (1999) small-sample degrees of freedom (:func:`rubin_pool`, mice's
``pool.scalar``; statsmodels' ``MICE.combine`` uses a normal reference instead).

Imputation model: the outcome, the model's predictors and the auxiliary variables
(default: age, sex and CKD group; factors of more than two codes enter as indicators).
One chain: ``burn_in`` cycles, then a completed dataset every ``between`` cycles.
Determinism: MICEData draws from ``numpy.random.default_rng(seed)`` alone.

A donor pool of 5 (``k_pmm=5``) is used throughout: statsmodels' default of 20 draws
from too wide a neighbourhood in small samples. Note that ``MICEData.set_imputer``
resets the object's ``k_pmm`` to its own default (20), so every call passes it here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.imputation.mice import MICEData

from analysis.models import build_model
from analysis.sensitivity.bootstrap import conclusion, lower, model_frame
from analysis.study import Study

__all__ = ["rubin_pool", "run_imputation"]

DEFAULT_AUXILIARY = ("age", "sex", "ckd_group")
#: mice's floor on lambda in barnard.rubin (keeps the df finite when B = 0).
LAMBDA_FLOOR = 1e-4


def rubin_pool(
    q: np.ndarray, u: np.ndarray, n: float = math.inf, k: int = 1, level: float = 0.95
) -> dict[str, float]:
    """Rubin's rules for one scalar, Barnard-Rubin df (R ``mice::pool.scalar(Q, U, n, k)``).

    ``q``: the m estimates; ``u``: their m squared standard errors; ``n - k``: the
    complete-data degrees of freedom (n rows, k estimated coefficients incl. the
    intercept; ``n = inf`` gives Rubin's 1987 df). Returns ``qbar``, ``ubar``, ``b``,
    ``t`` (= ubar + (1 + 1/m) b), ``se``, ``riv`` (r = (1 + 1/m) b / ubar), ``lambda``
    ((1 + 1/m) b / t), ``df`` (nu_old nu_obs / (nu_old + nu_obs), nu_old = (m - 1) /
    lambda^2, nu_obs = (nu_com + 1)/(nu_com + 3) nu_com (1 - lambda), lambda floored at
    1e-4 as mice does), ``fmi`` ((r + 2/(df + 3)) / (r + 1)), ``statistic`` (qbar / se),
    ``p_value`` (two-sided, t on df) and ``ci_low``/``ci_high`` (qbar -/+ t_df se).
    """
    q = np.asarray(q, dtype=float)
    u = np.asarray(u, dtype=float)
    m = q.size
    if m < 2 or u.size != m:
        raise ValueError("rubin_pool needs m >= 2 estimates and as many variances")
    qbar, ubar = float(q.mean()), float(u.mean())
    b = float(q.var(ddof=1))
    t = ubar + (1.0 + 1.0 / m) * b
    riv = (1.0 + 1.0 / m) * b / ubar
    lam = (1.0 + 1.0 / m) * b / t
    lam_df = max(lam, LAMBDA_FLOOR)
    df_old = (m - 1) / lam_df**2
    df_com = n - k
    if math.isinf(df_com):
        df = df_old
    else:
        df_obs = (df_com + 1.0) / (df_com + 3.0) * df_com * (1.0 - lam_df)
        df = df_old * df_obs / (df_old + df_obs)
    fmi = (riv + 2.0 / (df + 3.0)) / (riv + 1.0)
    se = math.sqrt(t)
    crit = float(stats.t.ppf(0.5 + level / 2.0, df))
    statistic = qbar / se
    return {
        "qbar": qbar, "ubar": ubar, "b": b, "t": t, "se": se, "riv": riv, "lambda": lam,
        "df": df, "fmi": fmi, "statistic": statistic,
        "p_value": float(2.0 * stats.t.sf(abs(statistic), df)),
        "ci_low": qbar - crit * se, "ci_high": qbar + crit * se,
    }  # fmt: skip


def _term(study: Study, name: str) -> str:
    var = study.variables.get(name)
    if var is not None and var.is_categorical and len(var.codes) > 2:
        return f"C({name})"
    return name


def _imputer(frame: pd.DataFrame, study: Study, k_pmm: int, seed: int) -> MICEData:
    imp = MICEData(frame, k_pmm=k_pmm, rng=np.random.default_rng(seed))
    for name in frame.columns:
        if frame[name].isna().any():
            others = " + ".join(_term(study, o) for o in frame.columns if o != name)
            imp.set_imputer(name, formula=others, k_pmm=k_pmm)
    imp.k_pmm = k_pmm  # set_imputer resets it to its own default
    return imp


def _fit(y: np.ndarray, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    res = sm.Logit(y, X.to_numpy(float)).fit(method="newton", tol=1e-10, maxiter=50, disp=False)
    return np.asarray(res.params), np.asarray(np.diag(res.cov_params()))


def run_imputation(
    cohort: pd.DataFrame,
    study: Study,
    model_id: str = "table4",
    *,
    imputations: int = 20,
    burn_in: int = 10,
    between: int = 10,
    k_pmm: int = 5,
    seed: int = 20200901,
    auxiliary: tuple[str, ...] | list[str] = DEFAULT_AUXILIARY,
    level: float = 0.95,
) -> dict[str, Any]:
    """Complete-case and multiply imputed adjusted odds ratios, side by side.

    Returns
    -------
    dict
        ``kind="sensitivity"``, ``analysis="imputation"``, ``model``, ``title``,
        ``method``, ``settings`` {``imputations``, ``burn_in``, ``between``, ``k_pmm``,
        ``seed``, ``imputation_variables``, ``auxiliary``}, ``n_rows`` (rows imputed
        and analysed), ``imputed`` {variable: values imputed}, ``complete_case``
        {``n``, ``events``}, ``terms`` [{``term``, ``label``, ``complete_case``
        {``odds_ratio``, ``ci_low``, ``ci_high``, ``p_value`` (Wald, as the model)},
        ``multiple_imputation`` {``estimate``, ``se``, ``odds_ratio``, ``ci_low``,
        ``ci_high``, ``p_value``, ``df``, ``riv``, ``lambda``, ``fmi``, ``b``,
        ``ubar``}}], ``conclusion``.
    """
    if imputations < 2:
        raise ValueError("imputations must be >= 2")
    frame = model_frame(cohort, study, model_id)
    spec = frame.spec
    model = build_model(cohort, study, model_id)
    outcome, predictors = spec["outcome"], list(frame.groups)
    aux = [a for a in auxiliary if a in frame.data.columns and a not in (outcome, *predictors)]
    columns = [outcome, *predictors, *aux]
    raw = frame.data[columns].apply(pd.to_numeric, errors="coerce").astype(float)
    data = raw.reset_index(drop=True)
    imputed = {name: int(data[name].isna().sum()) for name in columns}
    imp = _imputer(data, study, k_pmm, seed)
    base = frame.data.reset_index(drop=True)
    estimates, variances = [], []
    n_fit = k = 0
    for j in range(imputations):
        imp.update_all(burn_in if j == 0 else between)
        completed = base.copy()
        completed[columns] = imp.data[columns].to_numpy()
        done = model_frame(completed, study, model_id)
        q, u = _fit(done.y, done.X)
        estimates.append(q)
        variances.append(u)
        n_fit, k = len(done.y), done.X.shape[1]
    est, var = np.array(estimates), np.array(variances)
    names = list(frame.X.columns)
    cc = {t["term"]: t for t in model["terms"]}
    terms = []
    for j, term in enumerate(names):
        if term == "const":
            continue
        pooled = rubin_pool(est[:, j], var[:, j], n=n_fit, k=k, level=level)
        terms.append({
            "term": term,
            "label": frame.labels.get(term, term),
            "complete_case": {key: cc[term][key] for key in
                              ("estimate", "se", "odds_ratio", "ci_low", "ci_high", "p_value")},
            "multiple_imputation": {
                "estimate": pooled["qbar"], "se": pooled["se"],
                "odds_ratio": math.exp(pooled["qbar"]),
                "ci_low": math.exp(pooled["ci_low"]), "ci_high": math.exp(pooled["ci_high"]),
                "p_value": pooled["p_value"], "df": pooled["df"], "riv": pooled["riv"],
                "lambda": pooled["lambda"], "fmi": pooled["fmi"], "b": pooled["b"],
                "ubar": pooled["ubar"],
            },
        })  # fmt: skip
    labels = {name: study.variables[name].label for name in columns if name in study.variables}
    aux_text = ", ".join(lower(labels.get(a, a)) for a in aux) or "none"
    missing_text = (
        ", ".join(
            f"{lower(labels.get(name, name))} {count}" for name, count in imputed.items() if count
        )
        or "none"
    )
    pct = f"{100 * level:g}%"
    method = (
        "Multiple imputation by chained equations (fully conditional specification; "
        f"statsmodels MICEData): every incomplete variable among the outcome "
        f"({lower(labels.get(outcome, outcome))}), the model's predictors "
        f"({', '.join(lower(labels.get(p, p)) for p in predictors)}) and the auxiliary "
        f"variables ({aux_text}) was imputed in turn from all the others by a linear "
        "regression with perturbed coefficients and predictive mean matching with a donor "
        f"pool of {k_pmm}; {imputations} completed datasets were taken from one chain after "
        f"a burn-in of {burn_in} cycles and {between} cycles apart (numpy default_rng, seed "
        f"{seed}). Values imputed: {missing_text}. The logistic model was fitted by maximum "
        "likelihood on each completed dataset and the log odds ratios pooled by Rubin's "
        "rules, with t-based {pct} confidence intervals and p-values on the Barnard-Rubin "
        f"(1999) small-sample degrees of freedom (complete-data df = {n_fit} - {k}); these "
        "are set beside the complete-case (Wald) estimates."
    ).replace("{pct}", pct)
    intervals = {
        name: [
            (r["multiple_imputation"]["ci_low"], r["multiple_imputation"]["ci_high"])
            for r in terms if r["term"] in ts
        ]
        for name, ts in frame.groups.items()
    }  # fmt: skip
    return {
        "kind": "sensitivity",
        "analysis": "imputation",
        "study": study.id,
        "model": model_id,
        "title": f"Multiple imputation versus complete cases ({model['title']})",
        "method": method,
        "settings": {
            "imputations": int(imputations),
            "burn_in": int(burn_in),
            "between": int(between),
            "k_pmm": int(k_pmm),
            "seed": int(seed),
            "imputation_variables": columns,
            "auxiliary": aux,
            "imputation_model": "OLS with Gaussian-perturbed coefficients, predictive mean "
            f"matching ({k_pmm} donors)",
            "pooling": "Rubin's rules, Barnard-Rubin (1999) df",
        },
        "n_rows": len(data),
        "imputed": imputed,
        "complete_case": {"n": model["n"], "events": model["events"]},
        "terms": terms,
        "conclusion": conclusion(study, model_id, intervals, f"the pooled {pct} CIs"),
    }
