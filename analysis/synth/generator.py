"""Calibrated synthetic cohort for the baclofen-CKD study.

The cohort is built cell by cell (CKD group × neurotoxicity × age group) so
that published counts are exact at the reference size and variables the
paper found not to differ get the same distribution in every cell. Effects
the paper found (albumin, diabetic nephropathy, doses) are planted through
the assumptions file. Generation runs in chunks with independent random
streams (``SeedSequence(seed).spawn``), so memory is bounded and output is
deterministic for a given seed, n and chunk size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from analysis.clinical import mdrd_creatinine, mdrd_egfr
from analysis.synth.allocate import (
    allocate_binary,
    allocate_counts,
    largest_remainder,
    pinned_sample,
    stratified_uniform,
)

__all__ = ["DEFAULT_PARAMS", "SynthParams", "generate", "iter_chunks", "load_params"]

DEFAULT_PARAMS = Path(__file__).resolve().parents[2] / "studies" / "baclofen_ckd.synth.yaml"

# Column order of the generated file (the study file's variable order).
COLUMNS = [
    "patient_id",
    "sex",
    "age",
    "age_group",
    "height",
    "weight",
    "bmi",
    "diabetic_nephropathy",
    "hypertension",
    "heart_failure",
    "cancer",
    "cns_disease",
    "reason",
    "place",
    "total_dose",
    "medication_days",
    "daily_dose",
    "neurotoxicity",
    "mental_change",
    "seizure",
    "onset_hours",
    "symptom_days",
    "icu",
    "icu_days",
    "ventilator",
    "ventilator_days",
    "therapeutic_hd",
    "therapeutic_hd_sessions",
    "crrt",
    "therapeutic_pd",
    "therapeutic_pd_days",
    "dialysis_modality",
    "dialysis_years",
    "cns_drugs",
    "creatinine",
    "egfr",
    "ckd_group",
    "albumin",
    "cholesterol",
    "crp",
    "total_co2",
    "pco2",
    "bicarbonate",
]

NEUROTOXIC_ONLY = [
    "mental_change",
    "seizure",
    "onset_hours",
    "symptom_days",
    "icu",
    "icu_days",
    "ventilator",
    "ventilator_days",
    "therapeutic_hd",
    "therapeutic_hd_sessions",
    "crrt",
    "therapeutic_pd",
    "therapeutic_pd_days",
]


@dataclass(frozen=True)
class SynthParams:
    """The assumptions file, read once."""

    raw: dict[str, Any]
    path: Path

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]


def load_params(path: str | Path | None = None) -> SynthParams:
    where = Path(path) if path else DEFAULT_PARAMS
    with open(where, encoding="utf-8") as fh:
        return SynthParams(raw=yaml.safe_load(fh), path=where)


def _lookup(table: dict, keys: np.ndarray) -> np.ndarray:
    """Map integer keys to values through a dict, vectorised."""
    out = np.zeros(keys.size, dtype=float)
    for k, v in table.items():
        out[keys == int(k)] = v
    return out


def _lognormal(u: np.ndarray, median: float, gsd: float) -> np.ndarray:
    return median * np.exp(np.log(gsd) * stats.norm.ppf(u))


class _Chunk:
    """Builds one chunk of rows; each method adds one group of variables."""

    def __init__(self, params: SynthParams, m: int, start: int, rng: np.random.Generator):
        self.p = params
        self.m = m
        self.rng = rng
        self.ref_n = int(params["reference_n"])
        self.cols: dict[str, np.ndarray] = {
            "patient_id": np.array([f"SYN{i:08d}" for i in range(start + 1, start + m + 1)])
        }

    # -- structure ---------------------------------------------------------
    def structure(self) -> None:
        p, rng, m = self.p, self.rng, self.m
        group = rng.permutation(allocate_counts(p["ckd_group"], m)).astype(np.int64)
        share = {int(g): p["neurotoxicity_by_group"][g] / p["ckd_group"][g] for g in p["ckd_group"]}
        self.group = group
        self.nt = allocate_binary(group, _lookup(share, group), rng)
        self.cell_a = group * 2 + self.nt
        u = stratified_uniform(self.cell_a, rng)
        a = p["age"]
        age = np.clip(np.round(a["mean"] + a["sd"] * stats.norm.ppf(u)), a["min"], a["max"])
        self.age = age
        self.age_group = np.where(age < 60, 1, 2)  # the paper's Table 3 groups
        self.cell_b = self.cell_a * 2 + (self.age_group - 1)
        male = allocate_binary(
            self.cell_b,
            np.full(m, p["male"] / self.ref_n),
            rng,
            total=int(
                largest_remainder(
                    np.array([p["male"], self.ref_n - p["male"]]) * m / self.ref_n, m
                )[0]
            ),
        )
        self.sex = np.where(male == 1, 1, 2)
        self.cols.update(
            ckd_group=group, neurotoxicity=self.nt, age=age, age_group=self.age_group, sex=self.sex
        )

    def _by_neurotoxicity(
        self,
        cell: np.ndarray,
        share_with: float,
        share_without: float,
        eligible: np.ndarray | None = None,
    ) -> np.ndarray:
        """A flag allocated separately among the neurotoxic and the others.

        Separate allocation keeps the published count among the neurotoxic exact.
        """
        ok = np.ones(self.m, bool) if eligible is None else eligible
        flag = np.zeros(self.m, dtype=np.int64)
        for nt, share in ((1, share_with), (0, share_without)):
            flag += allocate_binary(
                cell, np.full(self.m, share), self.rng, eligible=ok & (self.nt == nt)
            )
        return flag

    def _nt_flag(self, spec: dict) -> np.ndarray:
        """Flag from a {share_without_neurotoxicity, count_with_neurotoxicity} spec."""
        ref_nt = sum(self.p["neurotoxicity_by_group"].values())
        return self._by_neurotoxicity(
            self.cell_b,
            spec["count_with_neurotoxicity"] / ref_nt,
            spec["share_without_neurotoxicity"],
        )

    # -- diseases, prescription ---------------------------------------------
    def diseases(self) -> None:
        p, rng = self.p, self.rng
        dn_share = np.zeros(self.m)
        for g, (without, with_) in p["diabetic_nephropathy"].items():
            sizes = (
                p["ckd_group"][g] - p["neurotoxicity_by_group"][g],
                p["neurotoxicity_by_group"][g],
            )
            for nt, count, size in ((0, without, sizes[0]), (1, with_, sizes[1])):
                dn_share[(self.group == int(g)) & (self.nt == nt)] = count / size
        self.dn = allocate_binary(self.cell_a, dn_share, rng)
        self.cols["diabetic_nephropathy"] = self.dn
        for name, prevalence in p["comorbidity"].items():
            self.cols[name] = allocate_binary(self.cell_b, np.full(self.m, prevalence), rng)
        self.cols["cns_drugs"] = self._nt_flag(p["cns_drugs"])
        inpatient = self._nt_flag(p["place_inpatient"])
        self.cols["place"] = np.where(inpatient == 1, 1, 2)

        r = p["reason"]
        with_, without = r["neurotoxicity"], r["no_neurotoxicity"]
        hiccups = self._by_neurotoxicity(
            self.cell_b, with_[1] / sum(with_.values()), without[1] / sum(without.values())
        )

        def spasm_share(d: dict) -> float:
            rest = d[2] + d[3]
            return d[2] / rest if rest else 0.0

        spasm = self._by_neurotoxicity(
            self.cell_b, spasm_share(with_), spasm_share(without), eligible=hiccups == 0
        )
        self.cols["reason"] = np.where(hiccups == 1, 1, np.where(spasm == 1, 2, 3))

    def dialysis(self) -> None:
        p, rng = self.p, self.rng
        on = self.group == 3
        mod = p["dialysis_modality"]
        pd_share = np.where(
            self.nt == 1,
            mod["neurotoxicity"][2] / sum(mod["neurotoxicity"].values()),
            mod["no_neurotoxicity_pd_share"],
        )
        pd_flag = allocate_binary(self.cell_a, pd_share, rng, eligible=on)
        self.modality = np.where(on, np.where(pd_flag == 1, 2, 1), 0)
        years = np.full(self.m, np.nan)
        idx = np.flatnonzero(on & (self.nt == 0))
        dy = p["dialysis_years"]
        u = stratified_uniform(self.cell_b[idx], rng)
        years[idx] = np.clip(np.round(_lognormal(u, dy["median"], dy["gsd"])), 1, dy["max"])
        self._pin(years, on & (self.nt == 1), p["neurotoxic_durations"]["dialysis_years"])
        self.cols.update(dialysis_modality=self.modality, dialysis_years=years)

    def _pin(self, target: np.ndarray, mask: np.ndarray, spec: dict) -> None:
        idx = np.flatnonzero(mask)
        target[idx] = pinned_sample(
            idx.size, spec["median"], spec["min"], spec["max"], spec["decimals"], self.rng
        )

    # -- baclofen doses -------------------------------------------------------
    def doses(self) -> None:
        """Daily dose and course length from a Gaussian copula; total = daily x days.

        The total is rounded to whole 5-mg tablets and the daily dose recomputed
        from it, so daily dose = total / days holds exactly, as in the paper
        (whose medians such as 10.6 mg/day are not tablet multiples).
        """
        p, rng, m = self.p, self.rng, self.m
        rho = p["dose_duration_correlation"]
        z1 = stats.norm.ppf(stratified_uniform(self.cell_b, rng))
        z2 = stats.norm.ppf(stratified_uniform(self.cell_b, rng))
        z_days = rho * z1 + np.sqrt(1 - rho**2) * z2
        latent = np.zeros(m)
        days = np.zeros(m)
        for nt, key in ((0, "no_neurotoxicity"), (1, "neurotoxicity")):
            spec = p["medication_days"][key]
            sel = self.nt == nt
            days[sel] = np.clip(
                np.ceil(spec["median"] * spec["gsd"] ** z_days[sel]), 1, spec["max"]
            )
            for g, d in p["daily_dose"][key].items():
                cell = sel & (self.group == int(g))
                latent[cell] = d["median"] * d["gsd"] ** z1[cell]
        lo, hi = p["daily_dose_range"]
        tablet = p["tablet_mg"]
        total = np.maximum(np.round(np.clip(latent, lo, hi) * days / tablet), 1) * tablet
        daily = total / days
        self._pin_toxic_doses(daily, days)
        self.cols.update(daily_dose=daily, medication_days=days, total_dose=daily * days)

    def _pin_toxic_doses(self, daily: np.ndarray, days: np.ndarray) -> None:
        """Published extremes among the neurotoxic: per-group daily range, total 5-150 mg."""
        p = self.p
        low_total, high_total = p["neurotoxic_total_range"]
        for g, (lo, hi) in p["neurotoxic_daily_range"].items():
            idx = np.flatnonzero((self.nt == 1) & (self.group == int(g)))
            if idx.size == 0:
                continue
            daily[idx] = np.clip(daily[idx], lo, hi)
            order = idx[np.argsort(daily[idx], kind="stable")]
            daily[order[0]] = lo
            if idx.size > 1:
                daily[order[-1]] = hi
        nt = np.flatnonzero(self.nt == 1)
        days[nt] = np.maximum(np.minimum(days[nt], np.floor(high_total / daily[nt])), 1)
        # The lowest toxic total was a PD patient (daily 5 mg for one day).
        pd_pat = np.flatnonzero((self.nt == 1) & (self.modality == 2))
        dialysis_nt = np.flatnonzero((self.nt == 1) & (self.group == 3))
        pick = pd_pat if pd_pat.size else dialysis_nt
        if pick.size:
            low_daily = p["neurotoxic_daily_range"][3][0]
            daily[pick[0]], days[pick[0]] = low_daily, low_total / low_daily
        # The highest was a stage-4 patient: 10 mg a day for 15 days.
        ckd4 = np.flatnonzero((self.nt == 1) & (self.group == 1) & (daily == 10))
        if ckd4.size:
            days[ckd4[-1]] = high_total / 10

    # -- neurotoxicity details ------------------------------------------------
    def neurotoxic_details(self) -> None:
        p, rng, m = self.p, self.rng, self.m
        nt = self.nt == 1
        ref_nt = sum(p["neurotoxicity_by_group"].values())
        counts = p["neurotoxic_counts"]
        cols: dict[str, np.ndarray] = {}

        def flag(count: float, of: float, eligible: np.ndarray) -> np.ndarray:
            share = np.full(m, count / of if of else 0.0)
            return allocate_binary(self.group, share, rng, eligible=eligible)

        for name in ("mental_change", "seizure", "icu"):
            cols[name] = flag(counts[name], ref_nt, nt)
        icu = cols["icu"] == 1
        cols["ventilator"] = flag(counts["ventilator"], counts["icu"], icu)
        cols["crrt"] = flag(counts["crrt"], counts["icu"], icu)
        hd_nt = p["dialysis_modality"]["neurotoxicity"][1]
        pd_nt = p["dialysis_modality"]["neurotoxicity"][2]
        non_dialysis_nt = ref_nt - hd_nt - pd_nt
        on_hd = nt & (self.modality == 1)
        off = nt & (self.modality == 0)
        cols["therapeutic_hd"] = flag(counts["therapeutic_hd_on_hd"], hd_nt, on_hd) + flag(
            counts["therapeutic_hd"] - counts["therapeutic_hd_on_hd"], non_dialysis_nt, off
        )
        cols["therapeutic_pd"] = flag(counts["therapeutic_pd"], pd_nt, nt & (self.modality == 2))
        durations = p["neurotoxic_durations"]
        for name, mask in (
            ("onset_hours", nt),
            ("symptom_days", nt),
            ("icu_days", cols["icu"] == 1),
            ("ventilator_days", cols["ventilator"] == 1),
            ("therapeutic_hd_sessions", cols["therapeutic_hd"] == 1),
            ("therapeutic_pd_days", cols["therapeutic_pd"] == 1),
        ):
            values = np.full(m, np.nan)
            self._pin(values, mask, durations[name])
            cols[name] = values
        for name in NEUROTOXIC_ONLY:
            values = cols[name].astype(float)
            values[~nt] = np.nan
            cols[name] = values
        self.cols.update(cols)

    # -- body size and laboratory --------------------------------------------
    def body_and_labs(self) -> None:
        p, rng, m = self.p, self.rng, self.m
        female = self.sex == 2
        cell_sex = self.cell_a * 2 + female
        height, weight = np.zeros(m), np.zeros(m)
        for target, key in ((height, "height"), (weight, "weight")):
            u = stratified_uniform(cell_sex, rng)
            z = stats.norm.ppf(u)
            for sex_key, mask in (("male", ~female), ("female", female)):
                spec = p[key][sex_key]
                target[mask] = np.round(spec["mean"] + spec["sd"] * z[mask], 1)
        # keep BMI plausible (15-40 kg/m2) in the tails of height and weight
        height_m2 = (height / 100) ** 2
        weight = np.round(np.clip(weight, 15 * height_m2, 40 * height_m2), 1)
        bmi = np.round(weight / (height / 100) ** 2, 2)

        egfr_target = np.zeros(m)
        u = stratified_uniform(self.cell_b, rng)
        for g, (lo, hi) in p["egfr_band"].items():
            sel = self.group == int(g)
            egfr_target[sel] = lo + (hi - lo) * u[sel]
        creatinine = np.round(mdrd_creatinine(egfr_target, self.age, female), 2)
        egfr = np.round(mdrd_egfr(creatinine, self.age, female), 1)

        alb = p["albumin"]
        cell_alb = self.cell_a * 2 + self.dn
        z = stats.norm.ppf(stratified_uniform(cell_alb, rng))
        mean = (
            alb["mean"]
            + alb["neurotoxicity_shift"] * self.nt
            + alb["diabetic_nephropathy_shift"] * self.dn
        )
        albumin = np.round(np.clip(mean + alb["sd"] * z, 1.5, 5.2), 1)
        labs = {"albumin": albumin}
        for name, spec in p["labs"].items():
            u = stratified_uniform(self.cell_b, rng)
            if "gsd" in spec:
                x = _lognormal(u, spec["median"], spec["gsd"])
            else:
                x = spec["mean"] + spec["sd"] * stats.norm.ppf(u)
            labs[name] = np.round(np.maximum(x, 0.0), spec["decimals"])
        for name, share in p["missing"].items():
            if share > 0:
                gone = allocate_binary(np.zeros(m, np.int64), np.full(m, share), rng)
                labs[name] = np.where(gone == 1, np.nan, labs[name])
        self.cols.update(
            height=height, weight=weight, bmi=bmi, creatinine=creatinine, egfr=egfr, **labs
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({name: self.cols[name] for name in COLUMNS})


def _chunk_sizes(n: int, chunk_size: int) -> list[int]:
    full, rest = divmod(n, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def iter_chunks(
    n: int,
    seed: int | None = None,
    params: SynthParams | None = None,
    chunk_size: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield the cohort in chunks of at most ``chunk_size`` rows."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    params = params or load_params()
    seed = int(params["seed"] if seed is None else seed)
    size = int(chunk_size or params["chunk_size"])
    sizes = _chunk_sizes(n, size)
    streams = np.random.SeedSequence(seed).spawn(len(sizes))
    start = 0
    for m, stream in zip(sizes, streams, strict=True):
        chunk = _Chunk(params, m, start, np.random.default_rng(stream))
        chunk.structure()
        chunk.diseases()
        chunk.dialysis()
        chunk.doses()
        chunk.neurotoxic_details()
        chunk.body_and_labs()
        yield chunk.frame()
        start += m


def generate(n: int, seed: int | None = None, params: SynthParams | None = None) -> pd.DataFrame:
    """The whole cohort in memory (convenient for n up to a few million)."""
    return pd.concat(list(iter_chunks(n, seed, params)), ignore_index=True)
