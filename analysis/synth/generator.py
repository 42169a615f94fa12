"""Calibrated synthetic cohort for the baclofen-CKD study.

The cohort is built cell by cell (CKD group × neurotoxicity × age group) so
that published counts are exact at the reference size and variables the
paper found not to differ get the same distribution in every cell. Effects
the paper found (albumin, diabetic nephropathy, doses) are planted through
the assumptions file. Generation runs in chunks with independent random
streams (``SeedSequence(seed).spawn``), so memory is bounded and output is
deterministic for a given seed, n and chunk size.

Every continuous variable stays inside its limits: the range the study file
declares for it (what ``validate`` enforces) narrowed by any ``min``/``max``
the assumptions file gives. Draws that land outside are redrawn in the tail
only (``analysis.synth.tails``), from a random stream of their own, so values
inside the limits -- the whole default cohort at n = 401 but a few -- never
move. ``tally`` arguments report how many draws were redrawn per variable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from analysis.clinical import mdrd_creatinine, mdrd_egfr
from analysis.errors import AnalysisError
from analysis.study import Study, load_study
from analysis.synth.allocate import (
    allocate_binary,
    allocate_counts,
    largest_remainder,
    pinned_sample,
    stratified_uniform,
)
from analysis.synth.tails import grid_bounds, redraw_tails

__all__ = [
    "DEFAULT_PARAMS",
    "SynthParams",
    "generate",
    "iter_chunks",
    "load_params",
    "study_limits",
]

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

AGE_CUT = 60  # the paper's Table 3 age groups: < 60 and >= 60 years

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


Limits = dict[str, tuple[float, float]]
_OPEN = (-np.inf, np.inf)


def study_limits(params: SynthParams, study: Study | None = None) -> Limits:
    """Declared ranges of the continuous variables: the limits every draw must respect.

    The study is the one given, else the one the assumptions file names
    (``study:``, relative to that file), else none (only assumed limits apply).
    """
    if study is not None:
        return _ranges(study)
    if not params.raw.get("study"):
        return {}
    path = (params.path.parent / params["study"]).resolve()
    if not path.is_file():
        raise AnalysisError(
            f"{params.path}: study: '{params['study']}' (the study file whose ranges the "
            f"synthetic values respect) not found at {path}"
        )
    return dict(_file_ranges(str(path), path.stat().st_mtime_ns))


def _ranges(study: Study) -> Limits:
    return {
        v.name: (float(v.range[0]), float(v.range[1]))
        for v in study.variables.values()
        if v.range is not None and v.type == "continuous"
    }


@lru_cache(maxsize=8)
def _file_ranges(path: str, mtime_ns: int) -> Limits:
    """Parsed once per file version: many small cohorts (tests) reuse the study."""
    return _ranges(load_study(path))


def _lookup(table: dict, keys: np.ndarray) -> np.ndarray:
    """Map integer keys to values through a dict, vectorised."""
    out = np.zeros(keys.size, dtype=float)
    for k, v in table.items():
        out[keys == int(k)] = v
    return out


Maps = tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]


def _normal(mean: np.ndarray | float, sd: np.ndarray | float) -> Maps:
    """Score -> value and value -> score of a normal variable."""
    return (lambda z: mean + sd * z), (lambda x: (x - mean) / sd)


def _lognormal_maps(median: float, gsd: float) -> Maps:
    """The same for a log-normal one (median, geometric SD); values <= 0 map to -inf."""
    log_gsd = np.log(gsd)
    return (
        lambda z: median * np.exp(log_gsd * z),
        lambda x: np.where(x > 0, np.log(np.maximum(x, 1e-300) / median) / log_gsd, -np.inf),
    )


def _power_maps(median: float, gsd: float) -> Maps:
    """Log-normal written as median * gsd**z (the dose and course-length draws)."""
    return (
        lambda z: median * gsd**z,
        lambda x: np.where(x > 0, np.log(np.maximum(x, 1e-300) / median) / np.log(gsd), -np.inf),
    )


class _Chunk:
    """Builds one chunk of rows; each method adds one group of variables."""

    def __init__(
        self,
        params: SynthParams,
        m: int,
        start: int,
        rng: np.random.Generator,
        tail_rng: np.random.Generator,
        limits: Limits,
    ):
        self.p = params
        self.m = m
        self.rng = rng
        self.tail_rng = tail_rng  # redraws only: the main stream never depends on them
        self.limits = limits
        self.tally: Counter[str] = Counter()
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
        # a redrawn age stays in its age group (ages from 59.5 round to 60)
        age = self._draw(
            "age", stats.norm.ppf(u), *_normal(a["mean"], a["sd"]), 0, a, pivot=AGE_CUT - 0.5
        )
        self.age = age
        self.age_group = np.where(age < AGE_CUT, 1, 2)
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
        years[idx] = self._draw(
            "dialysis_years", stats.norm.ppf(u), *_lognormal_maps(dy["median"], dy["gsd"]), 0, dy
        )
        self._pin(years, on & (self.nt == 1), p["neurotoxic_durations"]["dialysis_years"])
        self.cols.update(dialysis_modality=self.modality, dialysis_years=years)

    def _draw(
        self,
        name: str,
        z: np.ndarray,
        to_value: Callable[[np.ndarray], np.ndarray],
        to_z: Callable[[np.ndarray], np.ndarray],
        decimals: int | None,
        spec: dict | None = None,
        lo: np.ndarray | float = -np.inf,
        hi: np.ndarray | float = np.inf,
        how: str = "round",
        pivot: float | None = None,
    ) -> np.ndarray:
        """Values from normal scores ``z``, rounded, inside the limits of ``name``.

        Limits: the study range of ``name``, the assumption's ``min``/``max``
        (``spec``) and ``lo``/``hi`` (per-row arrays allowed), whichever is
        tightest. Scores whose rounded value would fall outside are redrawn in
        the tail (``redraw_tails``); the others give exactly the value they
        always gave. ``pivot`` (a value; default the median) is the point a
        redrawn value does not cross (see ``redraw_tails``).
        """
        s_lo, s_hi = self.limits.get(name, _OPEN)
        spec = spec or {}
        lo = np.maximum(np.maximum(lo, s_lo), spec.get("min", -np.inf))
        hi = np.minimum(np.minimum(hi, s_hi), spec.get("max", np.inf))
        raw_lo, raw_hi = grid_bounds(lo, hi, decimals, how)
        with np.errstate(divide="ignore", invalid="ignore"):
            z_lo, z_hi = to_z(raw_lo), to_z(raw_hi)
            z_pivot = 0.0 if pivot is None else to_z(np.asarray(pivot, dtype=float))
        z, redrawn = redraw_tails(z, z_lo, z_hi, self.tail_rng, z_pivot)
        self.tally[name] += redrawn
        x = to_value(z)
        if decimals is None:
            return x
        return np.ceil(x) if how == "ceil" else np.round(x, decimals)

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
        lo, hi = p["daily_dose_range"]
        for nt, key in ((0, "no_neurotoxicity"), (1, "neurotoxicity")):
            spec = p["medication_days"][key]
            sel = self.nt == nt
            days[sel] = self._draw(
                "medication_days", z_days[sel], *_power_maps(spec["median"], spec["gsd"]), 0,
                spec, how="ceil",
            )  # fmt: skip
            for g, d in p["daily_dose"][key].items():
                cell = sel & (self.group == int(g))
                latent[cell] = self._draw(
                    "daily_dose", z1[cell], *_power_maps(d["median"], d["gsd"]), None,
                    lo=lo, hi=hi,
                )  # fmt: skip
        tablet = p["tablet_mg"]
        total = np.maximum(np.round(latent * days / tablet), 1) * tablet
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
        body = {}
        for key in ("height", "weight"):
            u = stratified_uniform(cell_sex, rng)
            body[key] = (stats.norm.ppf(u), *self._by_sex(p[key], female))
        z, mean, sd = body["height"]
        height = self._draw("height", z, *_normal(mean, sd), 1, p["height"])
        # weight limits per row: its own range and the BMI range at that row's height
        height_m2 = (height / 100) ** 2
        b_lo, b_hi = self._limit_pair("bmi", p.raw.get("bmi", {}))
        z, mean, sd = body["weight"]
        weight = self._draw(
            "weight",
            z,
            *_normal(mean, sd),
            1,
            p["weight"],
            lo=b_lo * height_m2,
            hi=b_hi * height_m2,
        )
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
        albumin = self._draw("albumin", z, *_normal(mean, alb["sd"]), 1, alb)
        labs = {"albumin": albumin}
        for name, spec in p["labs"].items():
            z = stats.norm.ppf(stratified_uniform(self.cell_b, rng))
            if "gsd" in spec:
                maps = _lognormal_maps(spec["median"], spec["gsd"])
            else:
                maps = _normal(spec["mean"], spec["sd"])
            # concentrations are never negative, whatever the study file allows
            labs[name] = self._draw(name, z, *maps, spec["decimals"], spec, lo=0.0)
        for name, share in p["missing"].items():
            if share > 0:
                gone = allocate_binary(np.zeros(m, np.int64), np.full(m, share), rng)
                labs[name] = np.where(gone == 1, np.nan, labs[name])
        self.cols.update(
            height=height, weight=weight, bmi=bmi, creatinine=creatinine, egfr=egfr, **labs
        )

    def _by_sex(self, spec: dict, female: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-row mean and SD from a {male: {mean, sd}, female: {mean, sd}} spec."""
        mean = np.where(female, spec["female"]["mean"], spec["male"]["mean"])
        sd = np.where(female, spec["female"]["sd"], spec["male"]["sd"])
        return mean, sd

    def _limit_pair(self, name: str, spec: dict) -> tuple[float, float]:
        """Limits of a variable that is computed, not drawn (BMI): study range and spec."""
        s_lo, s_hi = self.limits.get(name, _OPEN)
        return max(s_lo, spec.get("min", -np.inf)), min(s_hi, spec.get("max", np.inf))

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({name: self.cols[name] for name in COLUMNS})
        self._check_limits(frame)
        return frame

    def _check_limits(self, frame: pd.DataFrame) -> None:
        """Fail loudly if an assumption ever yields a value outside the study's range."""
        for name, (lo, hi) in self.limits.items():
            if name in frame:
                x = frame[name].to_numpy(float)
                bad = np.flatnonzero((x < lo) | (x > hi))
                if bad.size:
                    raise ValueError(
                        f"synthetic {name} = {x[bad[0]]} outside the study range [{lo}, {hi}]; "
                        f"check the assumptions file {self.p.path}"
                    )


def _chunk_sizes(n: int, chunk_size: int) -> list[int]:
    full, rest = divmod(n, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def iter_chunks(
    n: int,
    seed: int | None = None,
    params: SynthParams | None = None,
    chunk_size: int | None = None,
    study: Study | None = None,
    tally: Counter[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield the cohort in chunks of at most ``chunk_size`` rows.

    ``study`` supplies the ranges every value must respect (default: the study
    the assumptions file names). ``tally``, if given, receives per variable the
    number of draws that were redrawn in the tail.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    params = params or load_params()
    limits = study_limits(params, study)
    seed = int(params["seed"] if seed is None else seed)
    size = int(chunk_size or params["chunk_size"])
    sizes = _chunk_sizes(n, size)
    streams = np.random.SeedSequence(seed).spawn(len(sizes))
    start = 0
    for m, stream in zip(sizes, streams, strict=True):
        rng = np.random.default_rng(stream)
        (tail_stream,) = stream.spawn(1)
        chunk = _Chunk(params, m, start, rng, np.random.default_rng(tail_stream), limits)
        chunk.structure()
        chunk.diseases()
        chunk.dialysis()
        chunk.doses()
        chunk.neurotoxic_details()
        chunk.body_and_labs()
        frame = chunk.frame()
        if tally is not None:
            tally.update(chunk.tally)
        yield frame
        start += m


def generate(
    n: int,
    seed: int | None = None,
    params: SynthParams | None = None,
    study: Study | None = None,
    tally: Counter[str] | None = None,
) -> pd.DataFrame:
    """The whole cohort in memory (convenient for n up to a few million)."""
    chunks = iter_chunks(n, seed, params, study=study, tally=tally)
    return pd.concat(list(chunks), ignore_index=True)
