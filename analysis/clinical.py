"""Clinical formulas shared by the generator, the validator and the derive step."""

from __future__ import annotations

import numpy as np

__all__ = ["MDRD_CONSTANT", "ckd_epi_2021_egfr", "mdrd_creatinine", "mdrd_egfr"]

# IDMS-traceable 4-variable MDRD (Levey et al., Clin Chem 2007;53:766-72).
MDRD_CONSTANT = 175.0
_CR_EXP = -1.154
_AGE_EXP = -0.203
_FEMALE = 0.742


def mdrd_egfr(creatinine_mg_dl: np.ndarray, age: np.ndarray, female: np.ndarray) -> np.ndarray:
    """eGFR (mL/min/1.73 m²) = 175 × Scr^-1.154 × age^-0.203 × 0.742 if female.

    The race coefficient (×1.212) is not applied: the study population is Korean.
    Missing inputs give a missing eGFR.
    """
    scr = np.asarray(creatinine_mg_dl, dtype=float)
    factor = np.where(np.asarray(female, dtype=bool), _FEMALE, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return MDRD_CONSTANT * scr**_CR_EXP * np.asarray(age, float) ** _AGE_EXP * factor


def mdrd_creatinine(egfr: np.ndarray, age: np.ndarray, female: np.ndarray) -> np.ndarray:
    """Inverse of :func:`mdrd_egfr`: the creatinine that gives this eGFR."""
    factor = np.where(np.asarray(female, dtype=bool), _FEMALE, 1.0)
    base = np.asarray(egfr, float) / (MDRD_CONSTANT * np.asarray(age, float) ** _AGE_EXP * factor)
    return base ** (1.0 / _CR_EXP)


def ckd_epi_2021_egfr(
    creatinine_mg_dl: np.ndarray, age: np.ndarray, female: np.ndarray
) -> np.ndarray:
    """Race-free CKD-EPI 2021 creatinine equation (Inker et al., NEJM 2021;385:1737-49).

    eGFR = 142 x min(Scr/k, 1)^a x max(Scr/k, 1)^-1.200 x 0.9938^age [x 1.012 if female],
    k = 0.7 (female) / 0.9 (male), a = -0.241 (female) / -0.302 (male).
    """
    scr = np.asarray(creatinine_mg_dl, dtype=float)
    is_female = np.asarray(female, dtype=bool)
    kappa = np.where(is_female, 0.7, 0.9)
    alpha = np.where(is_female, -0.241, -0.302)
    ratio = scr / kappa
    with np.errstate(invalid="ignore", divide="ignore"):
        return (
            142.0
            * np.minimum(ratio, 1.0) ** alpha
            * np.maximum(ratio, 1.0) ** -1.200
            * 0.9938 ** np.asarray(age, float)
            * np.where(is_female, 1.012, 1.0)
        )
