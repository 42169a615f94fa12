"""The paper's sides of 0.05, checked block by block while the reference cohort is drawn.

Why: at the reference size (n = 401) the synthetic cohort should reproduce every
published p-value -- the significant ones within a factor of 2 of the paper's value,
the ones the paper calls non-significant at or above alpha -- while every group
difference comes from honest random sampling (never planted equal, never tuned to
a chosen p-value). The generator therefore draws each *block* of variables (age,
sex, one comorbidity, the doses, one lab, ...) from a random stream of its own,
numbered by an attempt counter, and keeps the first attempt whose comparisons land
where the paper's do (rejection sampling over deterministic sub-seeds). Blocks are
independent, so accepting block by block gives the same distribution as redrawing
the whole cohort until everything fits -- only far cheaper. Each check runs the
project's own table engine (:func:`analysis.tables.build_summary_table`, the
study's ``paper`` policy) on the one row concerned; the Table 4 model uses the same
maximum-likelihood logistic fit with Wald p-values that :mod:`analysis.models`
reports (checked against it in tests/synth/).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from analysis.study import Study

__all__ = ["ReferenceChecks", "logit_wald_p", "within_factor"]


def within_factor(p: float, target: float, factor: float, alpha: float) -> bool:
    """``p`` on the same side of ``alpha`` as ``target`` and within ``factor`` of it."""
    if p is None or not np.isfinite(p) or p <= 0:
        return False
    return (p < alpha) == (target < alpha) and abs(math.log(p / target)) <= math.log(factor)


def logit_wald_p(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Wald p-values of a maximum-likelihood logistic fit (columns of ``x`` + constant).

    Newton-Raphson on complete cases; the same estimator SPSS and analysis.models use.
    Returns the p-values of the constant then of each column.
    """
    ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
    X = np.column_stack([np.ones(ok.sum()), x[ok]])
    yv = y[ok]
    beta = np.zeros(X.shape[1])
    for _ in range(50):
        mu = 1.0 / (1.0 + np.exp(-X @ beta))
        w = mu * (1 - mu)
        info = X.T @ (X * w[:, None])
        step = np.linalg.solve(info, X.T @ (yv - mu))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    mu = 1.0 / (1.0 + np.exp(-X @ beta))
    info = X.T @ (X * (mu * (1 - mu))[:, None])
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    from scipy import stats

    return 2 * stats.norm.sf(np.abs(beta / se))


class ReferenceChecks:
    """The ``reference_checks`` section of the assumptions file, against one study."""

    def __init__(self, spec: dict[str, Any], study: Study):
        self.study = study
        self.alpha = float(study.alpha)
        self.factor = float(spec.get("factor", 2.0))
        self.max_attempts = int(spec.get("max_attempts", 5000))
        self.blocks: dict[str, list[dict[str, Any]]] = spec.get("blocks", {})

    def applies(self) -> bool:
        """Every table, model and variable the checks name exists in the study.

        A cohort generated for another study file (``synth --study``) is not checked
        against this paper's p-values.
        """
        tables = {t["id"]: t for t in self.study.tables}
        models = {m["id"]: m for m in self.study.models}
        for items in self.blocks.values():
            for item in items:
                if "model" in item:
                    spec = models.get(item["model"])
                    names = [
                        p if isinstance(p, str) else p.get("variable")
                        for p in (spec or {}).get("predictors", [])
                    ]
                else:
                    spec = tables.get(item["table"])
                    names = (spec or {}).get("rows", [])
                if spec is None or item["variable"] not in names:
                    return False
        return True

    def items(self, block: str) -> list[dict[str, Any]]:
        return list(self.blocks.get(block, []))

    def p_value(self, item: dict[str, Any], frame: pd.DataFrame) -> float:
        if "model" in item:
            return self._model_p(item, frame)
        from analysis.tables import build_summary_table

        table = {**self.study.table(item["table"]), "rows": [item["variable"]]}
        rows = build_summary_table(frame, self.study, table)["rows"]
        return next(r["p_value"] for r in rows if r["p_value"] is not None)

    def _model_p(self, item: dict[str, Any], frame: pd.DataFrame) -> float:
        spec = next(m for m in self.study.models if m["id"] == item["model"])
        predictors = [p if isinstance(p, str) else p["variable"] for p in spec["predictors"]]
        y = (frame[spec["outcome"]].to_numpy(float) == spec.get("event", 1)).astype(float)
        x = frame[predictors].to_numpy(float)
        p = logit_wald_p(y, x)
        return float(p[1 + predictors.index(item["variable"])])

    def passes(self, block: str, frame: pd.DataFrame) -> bool:
        for item in self.items(block):
            p = self.p_value(item, frame)
            if "p" in item:
                if not within_factor(p, float(item["p"]), self.factor, self.alpha):
                    return False
            elif p is None or p < self.alpha:
                return False
        return True
