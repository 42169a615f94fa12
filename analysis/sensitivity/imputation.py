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
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.discrete.discrete_model import Logit
from statsmodels.formula._manager import FormulaManager
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


class _Design(NamedTuple):
    """How each column of a conditional formula's design matrix is made from the data:
    ``None`` (the intercept), a column name (its values) or (column, level) (the
    indicator of a factor's level); ``levels``: each factor's levels, as patsy found them."""

    columns: list[str]
    sources: list[str | tuple[str, float] | None]
    levels: dict[str, np.ndarray]


class _MICEData(MICEData):
    """statsmodels' MICEData with the design matrices of its conditional formulas built
    from the data directly, the same numbers as patsy's, without patsy on every update.

    MICEData builds both design matrices of a variable's formula through patsy twice per
    update (to fit the imputation model and to predict): 2 x burn-in + between x
    imputations formula evaluations, most of the analysis' time. Here patsy builds each
    formula's matrices once; its columns (the intercept, numeric columns, factor-level
    indicators) are then filled in from the data into a frame made as patsy makes it,
    which is checked equal to patsy's (values, columns, index, layout) that first time.
    On any later update whose factors have other levels than patsy saw, whose data
    hold a missing value (patsy would drop the row) or when the first check failed,
    patsy builds the matrices as before.
    """

    def _matrices(self, vname: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        designs = self.__dict__.setdefault("_designs", {})
        design = designs.get(vname)
        if design is not None:
            fast = self._fill(vname, design)
            if fast is not None:
                return fast
        endog, exog = FormulaManager().get_matrices(
            self.conditional_formula[vname], self.data, pandas=True
        )
        if vname not in designs:
            design = self._learn(vname, endog, exog)
            fast = None if design is None else self._fill(vname, design)
            same = fast is not None and all(
                _same_frame(mine, theirs) for mine, theirs in zip(fast, (endog, exog), strict=True)
            )
            designs[vname] = design if same else None
        return endog, exog

    def _learn(self, vname: str, endog: pd.DataFrame, exog: pd.DataFrame) -> _Design | None:
        """Each of patsy's columns by its name; None when one is not of a known kind."""
        if list(endog.columns) != [vname]:
            return None
        factors = {f"C({name})": name for name in self.data.columns}
        sources: list[str | tuple[str, float] | None] = []
        levels: dict[str, np.ndarray] = {}
        for column in exog.columns:
            if column == "Intercept":
                sources.append(None)
            elif column in self.data.columns and column != vname:
                sources.append(column)
            elif "[T." in column and column.endswith("]") and column.split("[T.")[0] in factors:
                factor, text = column[:-1].split("[T.", 1)
                name = factors[factor]
                found = levels.setdefault(name, np.unique(self.data[name].to_numpy()))
                match = [v for v in found if str(v) == text]
                if len(match) != 1:
                    return None
                sources.append((name, match[0]))
            else:
                return None
        return _Design(list(exog.columns), sources, levels)

    def _fill(self, vname: str, design: _Design) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """The formula's (endog, exog) from the data, as patsy builds them; None when patsy
        would build others (missing values, other factor levels)."""
        data = self.data
        names = [vname, *(s if isinstance(s, str) else s[0] for s in design.sources if s)]
        values = {name: data[name].to_numpy(dtype=np.float64) for name in dict.fromkeys(names)}
        if any(np.isnan(v).any() for v in values.values()):
            return None
        for name, found in design.levels.items():
            now = np.unique(values[name])
            if now.shape != found.shape or not np.array_equal(now, found):
                return None
        n = len(data)
        y = np.empty((n, 1), dtype=np.float64)
        y[:, 0] = values[vname]
        x = np.empty((n, len(design.sources)), dtype=np.float64)
        for j, source in enumerate(design.sources):
            if source is None:
                x[:, j] = 1.0
            elif isinstance(source, str):
                x[:, j] = values[source]
            else:
                x[:, j] = values[source[0]] == source[1]
        return (
            pd.DataFrame(y, columns=[vname], index=data.index),
            pd.DataFrame(x, columns=design.columns, index=data.index),
        )

    # statsmodels 0.15's two methods, with the matrices from _matrices
    def get_split_data(self, vname):
        endog, exog = self._matrices(vname)
        ixo = self.ix_obs[vname]
        endog_obs = np.require(endog.iloc[ixo], requirements="W")
        exog_obs = np.require(exog.iloc[ixo, :], requirements="W")
        ixm = self.ix_miss[vname]
        exog_miss = np.require(exog.iloc[ixm, :], requirements="W")
        predict_obs_kwds = {}
        if vname in self.predict_kwds:
            predict_obs_kwds = self._process_kwds(self.predict_kwds[vname], ixo)
        predict_miss_kwds = {}
        if vname in self.predict_kwds:
            predict_miss_kwds = self._process_kwds(self.predict_kwds[vname], ixm)
        return (endog_obs, exog_obs, exog_miss, predict_obs_kwds, predict_miss_kwds)

    def get_fitting_data(self, vname):
        ix = self.ix_obs[vname]
        endog, exog = self._matrices(vname)
        endog = np.require(endog.iloc[ix, 0], requirements="W")
        exog = np.require(exog.iloc[ix, :], requirements="W")
        init_kwds = self._process_kwds(self.init_kwds[vname], ix)
        fit_kwds = self._process_kwds(self.fit_kwds[vname], ix)
        return endog, exog, init_kwds, fit_kwds


def _same_frame(mine: pd.DataFrame, theirs: pd.DataFrame) -> bool:
    """Equal values, columns, index, dtypes and memory layout (so every later slice and
    product is computed alike)."""
    if list(mine.columns) != list(theirs.columns) or not mine.index.equals(theirs.index):
        return False
    if list(mine.dtypes) != list(theirs.dtypes):
        return False
    a, b = mine.to_numpy(), theirs.to_numpy()
    if a.shape != b.shape or a.strides != b.strides or not np.array_equal(a, b):
        return False
    rows = np.arange(0, len(mine), 2)
    sa, sb = (
        np.require(mine.iloc[rows, :], requirements="W"),
        np.require(theirs.iloc[rows, :], requirements="W"),
    )
    return sa.strides == sb.strides and sa.flags.f_contiguous == sb.flags.f_contiguous


def _imputer(frame: pd.DataFrame, study: Study, k_pmm: int, seed: int) -> MICEData:
    imp = _MICEData(frame, k_pmm=k_pmm, rng=np.random.default_rng(seed))
    for name in frame.columns:
        if frame[name].isna().any():
            others = " + ".join(_term(study, o) for o in frame.columns if o != name)
            imp.set_imputer(name, formula=others, k_pmm=k_pmm)
    imp.k_pmm = k_pmm  # set_imputer resets it to its own default
    return imp


def _fit(y: np.ndarray, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    res = Logit(y, X.to_numpy(float)).fit(method="newton", tol=1e-10, maxiter=50, disp=False)
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
