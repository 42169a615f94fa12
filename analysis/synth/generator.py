"""Calibrated synthetic cohort for the baclofen-CKD study.

Published counts are exact at the reference size (n = 401): group sizes,
neurotoxicity by CKD group, diabetic nephropathy by group and neurotoxicity,
the counts among the 28 neurotoxic patients. Everything else is honest random
sampling: a variable the paper found not to differ is drawn from one common
distribution for everybody (so group differences are those of a real sample),
and the effects the paper found (albumin, diabetic nephropathy, doses by CKD
group) are assumed effect sizes in the assumptions file. The 28 neurotoxic
courses (Table 7) and the Table 5-6 medians and ranges are placed exactly.

Variables are drawn in *blocks* (age, sex, each comorbidity, the doses, each
lab, ...), each from a random stream of its own keyed by (seed, chunk, block,
attempt). At the reference size a block is redrawn with the next attempt until
its comparisons land on the paper's side of 0.05 (within a factor of 2 of the
published p-value where the paper gives one): ``analysis.synth.checks``. Other
sizes take attempt 0 of every block. Generation runs in chunks, so memory is
bounded and output is deterministic for a given seed, n and chunk size.

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

from analysis.clinical import mdrd_creatinine, mdrd_egfr
from analysis.errors import AnalysisError
from analysis.study import Study, load_study
from analysis.synth.allocate import (
    allocate_binary,
    allocate_counts,
    largest_remainder,
    pinned_capped_sample,
    pinned_sample,
)
from analysis.synth.checks import ReferenceChecks
from analysis.synth.overlay import load_assumptions
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
ADULT_AGE = 18  # no patient started dialysis before this age

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
    """The assumptions file, with any ``extends:`` chain resolved (analysis.synth.overlay)."""
    where = Path(path) if path else DEFAULT_PARAMS
    return SynthParams(raw=load_assumptions(where), path=where)


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


def _params_study(params: SynthParams) -> Study:
    """The study the assumptions file names (``study:``, relative to that file)."""
    path = (params.path.parent / params["study"]).resolve()
    return _file_study(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _file_study(path: str, mtime_ns: int) -> Study:
    return load_study(path)


def _ranges(study: Study) -> Limits:
    return {
        v.name: (float(v.range[0]), float(v.range[1]))
        for v in study.variables.values()
        if v.range is not None and v.type == "continuous"
    }


@lru_cache(maxsize=8)
def _file_ranges(path: str, mtime_ns: int) -> Limits:
    """Parsed once per file version: many small cohorts (tests) reuse the study."""
    return _ranges(_file_study(path, mtime_ns))


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


# Block names -> stream numbers. A block's draws depend only on (seed, chunk, block,
# attempt) and on the blocks drawn before it, never on how often another was redrawn.
BLOCKS = {
    "structure": 1,
    "age": 2,
    "sex": 3,
    "diabetic_nephropathy": 4,
    "hypertension": 5,
    "heart_failure": 6,
    "cancer": 7,
    "cns_disease": 8,
    "cns_drugs": 9,
    "place": 10,
    "reason": 11,
    "dialysis": 12,
    "doses": 13,
    "neurotoxic_details": 14,
    "body": 15,
    "kidney": 16,
    "albumin": 17,
    "cholesterol": 18,
    "crp": 19,
    "total_co2": 20,
    "pco2": 21,
    "bicarbonate": 22,
}


def assign_capped(values: np.ndarray, caps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Give each row one of ``values`` (a permutation) with ``value <= cap`` row by row.

    Largest value first, each to a random row among those whose cap admits it and
    that have none yet; the admitting sets only grow as the values fall, so this
    succeeds whenever any such assignment exists. Raises ValueError otherwise.
    """
    out = np.full(caps.size, np.nan)
    free = np.ones(caps.size, bool)
    for v in np.sort(values)[::-1]:
        ok = np.flatnonzero(free & (caps >= v))
        if ok.size == 0:
            raise ValueError(f"no row admits the value {v} (caps {sorted(caps)})")
        pick = ok[rng.integers(ok.size)]
        out[pick] = v
        free[pick] = False
    return out


class _Chunk:
    """Builds one chunk of rows; each block method adds one group of variables."""

    def __init__(
        self,
        params: SynthParams,
        m: int,
        start: int,
        seed: int,
        chunk_index: int,
        limits: Limits,
        checks: ReferenceChecks | None = None,
    ):
        self.p = params
        self.m = m
        self.seed = seed
        self.chunk_index = chunk_index
        self.limits = limits
        self.checks = checks
        self.tally: Counter[str] = Counter()
        self.attempts: dict[str, int] = {}
        self.ref_n = int(params["reference_n"])
        self.ref_nt = sum(params["neurotoxicity_by_group"].values())
        self.cols: dict[str, np.ndarray] = {
            "patient_id": np.array([f"SYN{i:08d}" for i in range(start + 1, start + m + 1)])
        }

    # -- blocks and their streams ---------------------------------------------
    def _streams(self, block: str, attempt: int) -> tuple[np.random.Generator, np.random.Generator]:
        ss = np.random.SeedSequence([self.seed, self.chunk_index, BLOCKS[block], attempt])
        (tail,) = ss.spawn(1)
        return np.random.default_rng(ss), np.random.default_rng(tail)

    def block(self, name: str, draw: Callable[[], None]) -> None:
        """Draw one block; at the reference size redraw it until the paper's sides hold."""
        items = self.checks.items(name) if self.checks is not None else []
        tries = self.checks.max_attempts if items else 1
        for attempt in range(tries):
            self.rng, self.tail_rng = self._streams(name, attempt)
            before = Counter(self.tally)
            draw()
            if not items or self.checks.passes(name, self._frame_so_far()):  # type: ignore[union-attr]
                self.attempts[name] = attempt
                return
            self.tally = before
        raise AnalysisError(
            f"{self.p.path}: no draw of the '{name}' block in {tries} attempts lands every "
            f"comparison of reference_checks.blocks.{name} on the paper's side; the assumed "
            f"effect sizes cannot reproduce the published p-values"
        )

    def _frame_so_far(self) -> pd.DataFrame:
        return pd.DataFrame({k: v for k, v in self.cols.items() if k != "patient_id"})

    def build(self) -> None:
        self.block("structure", self.structure)
        self.block("age", self.age_block)
        self.block("sex", self.sex_block)
        self.block("diabetic_nephropathy", self.dn_block)
        for name in self.p["comorbidity"]:
            self.block(name, lambda name=name: self.comorbidity(name))
        self.block("cns_drugs", lambda: self.nt_flag("cns_drugs", self.p["cns_drugs"]))
        self.block("place", self.place_block)
        self.block("reason", self.reason_block)
        self.block("dialysis", self.dialysis)
        self.block("doses", self.doses)
        self.block("neurotoxic_details", self.neurotoxic_details)
        self.block("body", self.body)
        self.block("kidney", self.kidney)
        self.block("albumin", self.albumin)
        for name in self.p["labs"]:
            self.block(name, lambda name=name: self.lab(name))

    # -- structure ---------------------------------------------------------
    def structure(self) -> None:
        """CKD group and neurotoxicity: published counts, exact at the reference size."""
        p, rng, m = self.p, self.rng, self.m
        group = rng.permutation(allocate_counts(p["ckd_group"], m)).astype(np.int64)
        share = {int(g): p["neurotoxicity_by_group"][g] / p["ckd_group"][g] for g in p["ckd_group"]}
        self.group = group
        self.nt = allocate_binary(group, _lookup(share, group), rng)
        self.cols.update(ckd_group=group, neurotoxicity=self.nt)

    def age_block(self) -> None:
        """Age: one normal distribution for everybody (the paper found no difference)."""
        a = self.p["age"]
        z = self.rng.standard_normal(self.m)
        # a redrawn age stays in its age group (ages from 59.5 round to 60)
        age = self._draw("age", z, *_normal(a["mean"], a["sd"]), 0, a, pivot=AGE_CUT - 0.5)
        self.age = age
        self.age_group = np.where(age < AGE_CUT, 1, 2)
        self.cols.update(age=age, age_group=self.age_group)

    def _exact_flag(self, count: int, eligible: np.ndarray | None = None) -> np.ndarray:
        """Exactly ``count`` ones on eligible rows chosen at random (no stratification)."""
        ok = np.ones(self.m, bool) if eligible is None else eligible
        idx = np.flatnonzero(ok)
        flag = np.zeros(self.m, dtype=np.int64)
        count = min(int(count), idx.size)
        flag[self.rng.choice(idx, size=count, replace=False)] = 1
        return flag

    def _scaled(self, count: float) -> int:
        """A count given at the reference size, scaled to this chunk."""
        return int(largest_remainder(np.array([count, self.ref_n - count]) * self.m / self.ref_n,
                                     self.m)[0])  # fmt: skip

    def sex_block(self) -> None:
        male = self._exact_flag(self._scaled(self.p["male"]))
        self.sex = np.where(male == 1, 1, 2)
        self.cols["sex"] = self.sex

    def _nt_count(self, count_with: float) -> int:
        """A count among the neurotoxic, scaled from the published 28."""
        k = int((self.nt == 1).sum())
        return round(count_with * k / self.ref_nt) if k != self.ref_nt else int(count_with)

    def _split_flag(self, count_with: float, share_without: float) -> np.ndarray:
        """Published count among the neurotoxic; Binomial count among the others."""
        nt = self.nt == 1
        flag = self._exact_flag(self._nt_count(count_with), nt)
        k = self.rng.binomial(int((~nt).sum()), share_without)
        return flag + self._exact_flag(k, ~nt)

    def nt_flag(self, name: str, spec: dict) -> None:
        self.cols[name] = self._split_flag(
            spec["count_with_neurotoxicity"], spec["share_without_neurotoxicity"]
        )

    # -- diseases, prescription ---------------------------------------------
    def dn_block(self) -> None:
        """Diabetic nephropathy: counts by CKD group and neurotoxicity, members at random."""
        p = self.p
        dn_share = np.zeros(self.m)
        for g, (without, with_) in p["diabetic_nephropathy"].items():
            sizes = (
                p["ckd_group"][g] - p["neurotoxicity_by_group"][g],
                p["neurotoxicity_by_group"][g],
            )
            for nt, count, size in ((0, without, sizes[0]), (1, with_, sizes[1])):
                dn_share[(self.group == int(g)) & (self.nt == nt)] = count / size
        self.dn = allocate_binary(self.group * 2 + self.nt, dn_share, self.rng)
        self.cols["diabetic_nephropathy"] = self.dn

    def comorbidity(self, name: str) -> None:
        """Same prevalence for everybody: a Binomial count on random members."""
        prevalence = self.p["comorbidity"][name]
        self.cols[name] = (self.rng.random(self.m) < prevalence).astype(np.int64)

    def place_block(self) -> None:
        inpatient = self._split_flag(
            self.p["place_inpatient"]["count_with_neurotoxicity"],
            self.p["place_inpatient"]["share_without_neurotoxicity"],
        )
        self.cols["place"] = np.where(inpatient == 1, 1, 2)

    def reason_block(self) -> None:
        """Published counts among the neurotoxic and overall; the rest at random."""
        r = self.p["reason"]
        with_, without = r["neurotoxicity"], r["no_neurotoxicity"]
        nt = self.nt == 1
        n_nt = int(nt.sum())
        ref_without = sum(without.values())
        scale = (self.m - n_nt) / ref_without
        hic_with = self._nt_count(with_[1])
        hic_without = int(without[1]) if self.m == self.ref_n else round(without[1] * scale)
        hiccups = self._exact_flag(hic_with, nt) + self._exact_flag(hic_without, ~nt)
        spasm = np.zeros(self.m, dtype=np.int64)
        for mask, d in ((nt, with_), (~nt, without)):
            rest = mask & (hiccups == 0)
            share = d[2] / (d[2] + d[3]) if d[2] + d[3] else 0.0
            if mask is nt:
                k = self._nt_count(d[2])
            else:
                k = self.rng.binomial(int(rest.sum()), share)
            spasm += self._exact_flag(k, rest)
        self.cols["reason"] = np.where(hiccups == 1, 1, np.where(spasm == 1, 2, 3))

    def dialysis(self) -> None:
        p, rng = self.p, self.rng
        on = self.group == 3
        mod = p["dialysis_modality"]
        nt_on = on & (self.nt == 1)
        pd_nt = self._nt_count(mod["neurotoxicity"][2])
        pd_flag = self._exact_flag(min(pd_nt, int(nt_on.sum())), nt_on)
        rest = on & (self.nt == 0)
        pd_flag += self._exact_flag(
            rng.binomial(int(rest.sum()), mod["no_neurotoxicity_pd_share"]), rest
        )
        self.modality = np.where(on, np.where(pd_flag == 1, 2, 1), 0)
        years = np.full(self.m, np.nan)
        idx = np.flatnonzero(rest)
        dy = p["dialysis_years"]
        # nobody started dialysis before 18 (vintage <= age - 18)
        years[idx] = self._draw(
            "dialysis_years", rng.standard_normal(idx.size),
            *_lognormal_maps(dy["median"], dy["gsd"]), 0, dy,
            hi=np.maximum(self.age[idx] - ADULT_AGE, dy.get("min", 0)),
        )  # fmt: skip
        self._pin(years, nt_on, p["neurotoxic_durations"]["dialysis_years"])
        idx = np.flatnonzero(nt_on)
        try:
            years[idx] = assign_capped(years[idx], self.age[idx] - ADULT_AGE, rng)
        except ValueError:  # only with assumed ages down to 18: keep the published values
            pass
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
        """Course length and daily dose from a Gaussian copula; total = daily x days.

        Patients without neurotoxicity: the total is rounded to whole 5-mg tablets and
        the daily dose recomputed from it, so daily dose = total / days holds exactly,
        as in the paper. The neurotoxic patients take the published Table 7 courses
        (``neurotoxic_courses``), dealt at random within their CKD group.
        """
        p, rng, m = self.p, self.rng, self.m
        rho = p["dose_duration_correlation"]
        z1 = rng.standard_normal(m)
        z2 = rng.standard_normal(m)
        z_days = rho * z1 + np.sqrt(1 - rho**2) * z2
        spec = p["medication_days"]["no_neurotoxicity"]
        days = self._draw(
            "medication_days", z_days, *_power_maps(spec["median"], spec["gsd"]), 0, spec,
            how="ceil",
        )  # fmt: skip
        lo, hi = p["daily_dose_range"]
        latent = np.zeros(m)
        for g, d in p["daily_dose"]["no_neurotoxicity"].items():
            cell = self.group == int(g)
            latent[cell] = self._draw(
                "daily_dose", z1[cell], *_power_maps(d["median"], d["gsd"]), None, lo=lo, hi=hi
            )
        tablet = p["tablet_mg"]
        total = np.maximum(np.round(latent * days / tablet), 1) * tablet
        self._toxic_courses(total, days)
        self.cols.update(daily_dose=total / days, medication_days=days, total_dose=total)

    def _toxic_courses(self, total: np.ndarray, days: np.ndarray) -> None:
        """The published courses of the neurotoxic patients, group by group.

        At the reference size each group's list is used once; otherwise it is
        repeated and a random part of it added. The smallest course of the dialysis
        group (5 mg, published: a PD patient) goes to a PD patient when there is one.
        """
        for g, courses in self.p["neurotoxic_courses"].items():
            idx = np.flatnonzero((self.nt == 1) & (self.group == int(g)))
            if idx.size == 0:
                continue
            table = np.array([(c[0], c[1]) for c in courses], dtype=float)
            reps, extra = divmod(idx.size, len(table))
            pick = np.r_[np.tile(np.arange(len(table)), reps),
                         self.rng.choice(len(table), size=extra, replace=False)]  # fmt: skip
            order = self.rng.permutation(idx)
            if int(g) == 3:
                smallest = int(np.argmin(table[:, 0] * table[:, 1]))
                pd_rows = order[self.modality[order] == 2]
                if pd_rows.size and smallest in pick:
                    # the first PD patient takes (one copy of) the smallest course
                    j = int(np.flatnonzero(pick == smallest)[0])
                    k = int(np.flatnonzero(order == pd_rows[0])[0])
                    order[[j, k]] = order[[k, j]]
            days[order] = table[pick, 1]
            total[order] = table[pick, 0] * table[pick, 1]

    # -- neurotoxicity details ------------------------------------------------
    def neurotoxic_details(self) -> None:
        """Tables 5-6: published counts and median (min, max), placed on plausible rows.

        Plausibility rules (each tested in tests/synth/): onset within the course
        (onset <= 24 x (days + 1) h, the last dose's effect included); ventilation and
        CRRT only in the ICU, ventilator days <= ICU days; therapeutic HD never for a
        PD patient, therapeutic PD only for PD patients; HD sessions and PD days at most
        one a day while symptomatic (<= symptom days + 1); dialysis vintage <= age - 18.
        """
        p, m = self.p, self.m
        nt = self.nt == 1
        counts = p["neurotoxic_counts"]
        cols: dict[str, np.ndarray] = {}

        def flag(count: float, of: float, eligible: np.ndarray) -> np.ndarray:
            k = int(eligible.sum())
            c = int(count) if k == of else round(count * k / of) if of else 0
            return self._exact_flag(c, eligible)

        for name in ("mental_change", "seizure", "icu"):
            cols[name] = flag(counts[name], self.ref_nt, nt)
        icu = cols["icu"] == 1
        cols["ventilator"] = flag(counts["ventilator"], counts["icu"], icu)
        cols["crrt"] = flag(counts["crrt"], counts["icu"], icu)
        hd_nt = p["dialysis_modality"]["neurotoxicity"][1]
        pd_nt = p["dialysis_modality"]["neurotoxicity"][2]
        non_dialysis_nt = self.ref_nt - hd_nt - pd_nt
        on_hd = nt & (self.modality == 1)
        off = nt & (self.modality == 0)
        cols["therapeutic_hd"] = flag(counts["therapeutic_hd_on_hd"], hd_nt, on_hd) + flag(
            counts["therapeutic_hd"] - counts["therapeutic_hd_on_hd"], non_dialysis_nt, off
        )
        cols["therapeutic_pd"] = flag(counts["therapeutic_pd"], pd_nt, nt & (self.modality == 2))
        durations = p["neurotoxic_durations"]

        def pinned(name: str, mask: np.ndarray) -> np.ndarray:
            values = np.full(m, np.nan)
            self._pin(values, mask, durations[name])
            return values

        relaxed = False  # set when no exact placement exists (small cohorts only)

        def capped(name: str, mask: np.ndarray, caps: np.ndarray) -> np.ndarray:
            values = np.full(m, np.nan)
            idx = np.flatnonzero(mask)
            d = durations[name]
            if relaxed:  # the published summary cannot fit: plausible first, exact second
                values[idx] = np.minimum(pinned(name, mask)[idx], caps[idx])
                return values
            values[idx] = pinned_capped_sample(
                d["median"], d["min"], d["max"], d["decimals"], caps[idx], self.rng
            )
            return values

        # symptom days drawn again (same stream) until the sessions fit them
        for attempt in range(1001):
            try:
                days = self.cols["medication_days"]
                cols["onset_hours"] = capped("onset_hours", nt, 24.0 * (days + 1))
                cols["symptom_days"] = pinned("symptom_days", nt)
                cols["icu_days"] = pinned("icu_days", icu)
                # the ventilated are the longest ICU stays (CRRT: any ICU patient)
                stay = np.where(icu, cols["icu_days"] + self.rng.random(m) * 0.5, -np.inf)
                longest = np.argsort(-stay, kind="stable")
                n_vent = int(cols["ventilator"].sum())
                cols["ventilator"] = np.zeros(m, dtype=np.int64)
                cols["ventilator"][longest[:n_vent]] = 1
                vent = cols["ventilator"] == 1
                cols["ventilator_days"] = capped(
                    "ventilator_days", vent, np.nan_to_num(cols["icu_days"])
                )
                sym = np.nan_to_num(cols["symptom_days"]) + 1
                cols["therapeutic_hd_sessions"] = capped(
                    "therapeutic_hd_sessions", cols["therapeutic_hd"] == 1, sym
                )
                cols["therapeutic_pd_days"] = capped(
                    "therapeutic_pd_days", cols["therapeutic_pd"] == 1, sym
                )
                break
            except ValueError:
                if attempt == 999 and m != self.ref_n and not relaxed:
                    # A few neurotoxic patients (a small cohort) cannot hold every published
                    # median (min, max) within their own limits: keep the limits.
                    relaxed = True
                continue
        else:
            raise ValueError("no placement of the Table 6 durations is plausible")

        for name in NEUROTOXIC_ONLY:
            values = cols[name].astype(float)
            values[~nt] = np.nan
            cols[name] = values
        self.cols.update(cols)

    # -- body size and laboratory --------------------------------------------
    def body(self) -> None:
        """Height and weight by sex, the same for everybody else (no difference)."""
        p, rng = self.p, self.rng
        female = self.sex == 2
        z_h, z_w = rng.standard_normal(self.m), rng.standard_normal(self.m)
        mean, sd = self._by_sex(p["height"], female)
        height = self._draw("height", z_h, *_normal(mean, sd), 1, p["height"])
        # weight limits per row: its own range and the BMI range at that row's height
        height_m2 = (height / 100) ** 2
        b_lo, b_hi = self._limit_pair("bmi", p.raw.get("bmi", {}))
        mean, sd = self._by_sex(p["weight"], female)
        weight = self._draw(
            "weight", z_w, *_normal(mean, sd), 1, p["weight"],
            lo=b_lo * height_m2, hi=b_hi * height_m2,
        )  # fmt: skip
        bmi = np.round(weight / (height / 100) ** 2, 2)
        self.cols.update(height=height, weight=weight, bmi=bmi)

    def kidney(self) -> None:
        """eGFR uniform inside the CKD group's band; creatinine from MDRD."""
        female = self.sex == 2
        egfr_target = np.zeros(self.m)
        u = self.rng.random(self.m)
        for g, (lo, hi) in self.p["egfr_band"].items():
            sel = self.group == int(g)
            egfr_target[sel] = lo + (hi - lo) * u[sel]
        creatinine = np.round(mdrd_creatinine(egfr_target, self.age, female), 2)
        egfr = np.round(mdrd_egfr(creatinine, self.age, female), 1)
        self.cols.update(creatinine=creatinine, egfr=egfr)

    def _missing(self, name: str, values: np.ndarray) -> np.ndarray:
        share = self.p["missing"].get(name, 0)
        if share > 0:
            gone = self._exact_flag(int(largest_remainder(np.array([share * self.m]))[0]))
            values = np.where(gone == 1, np.nan, values)
        return values

    def albumin(self) -> None:
        alb = self.p["albumin"]
        mean = (
            alb["mean"]
            + alb["neurotoxicity_shift"] * self.nt
            + alb["diabetic_nephropathy_shift"] * self.dn
        )
        z = self.rng.standard_normal(self.m)
        values = self._draw("albumin", z, *_normal(mean, alb["sd"]), 1, alb)
        self.cols["albumin"] = self._missing("albumin", values)

    def lab(self, name: str) -> None:
        spec = self.p["labs"][name]
        z = self.rng.standard_normal(self.m)
        if "gsd" in spec:
            maps = _lognormal_maps(spec["median"], spec["gsd"])
        else:
            maps = _normal(spec["mean"], spec["sd"])
        # concentrations are never negative, whatever the study file allows
        values = self._draw(name, z, *maps, spec["decimals"], spec, lo=0.0)
        self.cols[name] = self._missing(name, values)

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
    reference_checks: bool = True,
    attempts: dict[str, int] | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield the cohort in chunks of at most ``chunk_size`` rows.

    ``study`` supplies the ranges every value must respect (default: the study
    the assumptions file names). ``tally``, if given, receives per variable the
    number of draws that were redrawn in the tail. ``reference_checks``: at the
    reference size (one chunk of ``reference_n`` rows) redraw each block until the
    paper's sides of 0.05 hold (the assumptions file's ``reference_checks``); False
    gives the first draw of every block (how often that alone succeeds is the
    robustness figure in the assumptions file). ``attempts``, if given, receives
    the accepted attempt number of every block.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    params = params or load_params()
    limits = study_limits(params, study)
    seed = int(params["seed"] if seed is None else seed)
    size = int(chunk_size or params["chunk_size"])
    sizes = _chunk_sizes(n, size)
    checks = None
    if (
        reference_checks
        and sizes == [int(params["reference_n"])]
        and params.raw.get("reference_checks")
    ):
        checks = ReferenceChecks(params["reference_checks"], study or _params_study(params))
        if not checks.applies():
            checks = None
    start = 0
    for index, m in enumerate(sizes):
        chunk = _Chunk(params, m, start, seed, index, limits, checks)
        chunk.build()
        frame = chunk.frame()
        if tally is not None:
            tally.update(chunk.tally)
        if attempts is not None:
            attempts.update(chunk.attempts)
        yield frame
        start += m


def generate(
    n: int,
    seed: int | None = None,
    params: SynthParams | None = None,
    study: Study | None = None,
    tally: Counter[str] | None = None,
    reference_checks: bool = True,
    attempts: dict[str, int] | None = None,
) -> pd.DataFrame:
    """The whole cohort in memory (convenient for n up to a few million)."""
    chunks = iter_chunks(
        n, seed, params, study=study, tally=tally, reference_checks=reference_checks,
        attempts=attempts,
    )  # fmt: skip
    return pd.concat(list(chunks), ignore_index=True)
