"""The coordinator's side of the exact distributed fit, one Newton-Raphson round per file.

Round 0 starts from the inverse-variance combination of the sites' own estimates (their
bundles): close to the pooled maximum, so a handful of rounds reach it. In each round
every site sends its score vector and information matrix at the current estimates
(:func:`analysis.multisite.share.score_round`), and the coordinator takes one Newton
step with their sums (:func:`step`). A site's contribution is refused unless it answers
this round's estimates exactly, so a stale file cannot slip in. Once a step is smaller
than ``TOL`` the fit has converged; later rounds repeat the same estimates, and the
standard errors come from the summed information of the last round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from analysis.errors import AnalysisError
from analysis.multisite import pooling

__all__ = ["TOL", "check_contribution", "start", "step"]

TOL = 1e-10


def _start_model(bundles: list[dict], model_id: str) -> dict[str, Any]:
    """Round 0 of one model: sum_k I_k b_k solved against sum_k I_k, I_k the inverse of
    site k's covariance (a one-step meta-analysis of the whole vector)."""
    fits = [next(m for m in b["models"] if m["id"] == model_id) for b in bundles]
    usable = [f for f in fits if not f.get("withheld")]
    if not usable:
        raise AnalysisError(f"model {model_id}: every site withheld its fit; nothing to start from")
    inverses = [np.linalg.inv(np.asarray(f["cov"], dtype=float)) for f in usable]
    info = sum(inverses)
    rhs = sum(
        i @ np.asarray(f["estimate"], dtype=float) for i, f in zip(inverses, usable, strict=True)
    )
    return {
        "terms": fits[0]["terms"],
        "beta": [float(v) for v in np.linalg.solve(info, rhs)],
        "converged": False,
        "converged_at": None,
        "max_step": None,
    }


def start(bundles: list[dict], model_ids: list[str]) -> dict[str, Any]:
    """Round 0 of every model."""
    return {
        "kind": "multisite-round",
        "round": 0,
        "sites": [b["site"] for b in bundles],
        "models": {m: _start_model(bundles, m) for m in model_ids},
    }


def check_contribution(path: Path, part: dict, current: dict, threshold: int) -> None:
    """A site's answer to this round, or a one-line refusal naming its file."""
    if part.get("kind") != "multisite-contribution" or part.get("round") != current["round"]:
        raise AnalysisError(
            f"{path}: not a contribution to round {current['round']} "
            f"(it answers round {part.get('round')})"
        )
    if part.get("site") not in current["sites"]:
        raise AnalysisError(f"{path}: site '{part.get('site')}' is not one of the bundles' sites")
    for model_id, state in current["models"].items():
        mine = (part.get("models") or {}).get(model_id)
        if mine is None:
            raise AnalysisError(f"{path}: has no contribution for model {model_id}")
        if mine.get("beta") != state["beta"] or mine.get("terms") != state["terms"]:
            raise AnalysisError(
                f"{path}: model {model_id} computed at other estimates than round "
                f"{current['round']}'s"
            )
        n = mine.get("n")
        if not isinstance(n, int) or n < threshold:
            raise AnalysisError(
                f"{path}: model {model_id}: n = {n} is below the disclosure threshold {threshold}"
            )


def _step_model(state: dict, parts: list[dict], round_no: int) -> dict[str, Any]:
    contributions = [pooling.ScoreContribution.from_dict(p) for p in parts]
    beta = np.asarray(state["beta"], dtype=float)
    new_beta, max_step = pooling.newton_update(beta, contributions)
    cov = np.linalg.inv(sum(np.asarray(c.information, dtype=float) for c in contributions))
    converged = bool(state["converged"] or max_step < TOL)
    return state | {
        "beta": [float(v) for v in new_beta],
        "max_step": float(max_step),
        "converged": converged,
        "converged_at": state["converged_at"] or (round_no if converged else None),
        "n": int(sum(c.n for c in contributions)),
        "loglik": float(sum(c.loglik for c in contributions)),
        "bse": [float(v) for v in np.sqrt(np.diag(cov))],
        "cov": [[float(v) for v in line] for line in cov],
    }


def step(current: dict, parts: dict[str, dict]) -> dict[str, Any]:
    """The next round from every site's contribution (checked) at this round's estimates."""
    missing = [s for s in current["sites"] if s not in parts]
    if missing:
        raise AnalysisError(f"round {current['round']}: no contribution from {', '.join(missing)}")
    round_no = current["round"] + 1
    models = {
        model_id: _step_model(
            state, [parts[s]["models"][model_id] for s in current["sites"]], round_no
        )
        for model_id, state in current["models"].items()
    }
    return current | {"round": round_no, "models": models}
