"""Assumptions files that extend another (analysis.synth.overlay) and the three synthetic
sites of the multi-site study built with them (studies/multisite/*.synth.yaml)."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.__main__ import main
from analysis.errors import AnalysisError
from analysis.synth.generator import DEFAULT_PARAMS, generate, load_params
from analysis.synth.overlay import deep_merge, load_assumptions, overlay_files
from analysis.validate import validate_frame

ROOT = Path(__file__).resolve().parents[2]
SITES = {name: ROOT / "studies" / "multisite" / f"{name}.synth.yaml" for name in
         ("site_a", "site_b", "site_c")}  # fmt: skip
N = 900  # small, but not the reference size (401): no published p-value redraws
SEED = 11


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


BASE = """\
study: study.yaml
seed: 1
age: {mean: 64.0, sd: 13.0, min: 20, max: 95}
ckd_group: {1: 174, 2: 97, 3: 130}
labs:
  crp: {median: 0.6, gsd: 3.5, decimals: 2}
  pco2: {mean: 35.0, sd: 6.0, decimals: 1}
courses: [[10, 1], [20, 2]]
checks: {factor: 2.0, blocks: {age: [a, b]}}
"""


# -- merge semantics --------------------------------------------------------------------
def test_overlay_merges_mappings_and_replaces_everything_else(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    overlay = write(
        tmp_path / "sites" / "one.yaml",
        """\
extends: ../base.yaml
seed: 7
age: {mean: 72.0}
ckd_group: {3: 200}
labs: {crp: {gsd: 2.0}}
courses: [[5, 1]]
checks: null
""",
    )
    expected = {  # written by hand: what the generator must see
        "study": "../study.yaml",  # still the base's study, now relative to the overlay
        "seed": 7,
        "age": {"mean": 72.0, "sd": 13.0, "min": 20, "max": 95},
        "ckd_group": {1: 174, 2: 97, 3: 200},
        "labs": {
            "crp": {"median": 0.6, "gsd": 2.0, "decimals": 2},
            "pco2": {"mean": 35.0, "sd": 6.0, "decimals": 1},
        },
        "courses": [[5, 1]],  # a list is replaced whole, never merged item by item
        "checks": None,  # so is a mapping replaced by null
    }
    assert load_assumptions(overlay) == expected
    params = load_params(overlay)
    assert params.raw == expected
    assert params.path == overlay
    assert overlay_files(overlay) == [overlay, overlay.parent / "../base.yaml"]


def test_a_chain_of_overlays_applies_nearest_last(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    write(tmp_path / "mid.yaml", "extends: base.yaml\nseed: 2\nage: {sd: 11.0}\n")
    leaf = write(tmp_path / "deep" / "leaf.yaml", "extends: ../mid.yaml\nage: {mean: 70.0}\n")
    raw = load_assumptions(leaf)
    assert raw["seed"] == 2
    assert raw["age"] == {"mean": 70.0, "sd": 11.0, "min": 20, "max": 95}
    assert raw["study"] == "../study.yaml"
    assert "extends" not in raw
    assert [p.name for p in overlay_files(leaf)] == ["leaf.yaml", "mid.yaml", "base.yaml"]


def test_deep_merge_leaves_its_arguments_alone():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 3}
    over = {"a": {"c": [9]}}
    before = copy.deepcopy((base, over))
    assert deep_merge(base, over) == {"a": {"b": 1, "c": [9]}, "d": 3}
    assert (base, over) == before


def test_a_file_without_extends_reads_as_before():
    with open(DEFAULT_PARAMS, encoding="utf-8") as fh:
        assert load_params().raw == yaml.safe_load(fh)
    assert overlay_files(DEFAULT_PARAMS) == [DEFAULT_PARAMS]


# -- guards -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("seeed: 3", "'seeed'"),  # a misspelt top-level key
        ("age: {meen: 70}", "'age.meen'"),  # a misspelt nested key
        ("ckd_group: {4: 10}", "'ckd_group.4'"),  # a group the base does not have
    ],
)
def test_a_key_the_base_does_not_have_is_an_error(tmp_path, text, key):
    write(tmp_path / "base.yaml", BASE)
    overlay = write(tmp_path / "typo.yaml", f"extends: base.yaml\n{text}\n")
    with pytest.raises(AnalysisError, match=r"typo\.yaml: key " + key.replace(".", r"\.")):
        load_params(overlay)


def test_a_cycle_is_an_error(tmp_path):
    write(tmp_path / "a.yaml", "extends: b.yaml\nseed: 1\n")
    write(tmp_path / "b.yaml", "extends: ./a.yaml\nseed: 2\n")
    with pytest.raises(AnalysisError, match="comes back to a file already extended"):
        load_params(tmp_path / "a.yaml")
    write(tmp_path / "self.yaml", "extends: self.yaml\nseed: 1\n")
    with pytest.raises(AnalysisError, match=r"self\.yaml: .extends. comes back"):
        load_assumptions(tmp_path / "self.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("extends: nowhere.yaml", "no such file"),
        ("extends: 3", "must be the path of another assumptions file"),
        ("extends: base.yaml\nseed: 1\nseed: 2", "duplicate key"),
        ("- a list", "is a mapping"),
    ],
)
def test_bad_overlays_are_one_line_errors(tmp_path, text, message):
    write(tmp_path / "base.yaml", BASE)
    with pytest.raises(AnalysisError, match=message):
        load_params(write(tmp_path / "bad.yaml", text + "\n"))


# -- the three sites ------------------------------------------------------------------
def consistency(raw: dict) -> list[str]:
    """The count identities the generator relies on (the base's hold them too)."""
    groups, nt = raw["ckd_group"], raw["neurotoxicity_by_group"]
    n_nt = sum(nt.values())
    mod, counts = raw["dialysis_modality"]["neurotoxicity"], raw["neurotoxic_counts"]
    problems = []
    if sum(groups.values()) != raw["reference_n"]:
        problems.append("ckd_group does not add up to reference_n")
    if sum(raw["reason"]["neurotoxicity"].values()) != n_nt:
        problems.append("reason.neurotoxicity does not add up to the neurotoxic")
    if sum(raw["reason"]["no_neurotoxicity"].values()) != raw["reference_n"] - n_nt:
        problems.append("reason.no_neurotoxicity does not add up to the others")
    if sum(mod.values()) != nt[3]:
        problems.append("dialysis_modality.neurotoxicity is not the neurotoxic on dialysis")
    for g, (without, with_) in raw["diabetic_nephropathy"].items():
        if not (0 <= without <= groups[g] - nt[g] and 0 <= with_ <= nt[g]):
            problems.append(f"diabetic_nephropathy.{g} does not fit its cells")
    for key in ("cns_drugs", "place_inpatient"):
        if raw[key]["count_with_neurotoxicity"] > n_nt:
            problems.append(f"{key}.count_with_neurotoxicity exceeds the neurotoxic")
    if counts["therapeutic_hd_on_hd"] > mod[1] or counts["therapeutic_pd"] > mod[2]:
        problems.append("therapeutic dialysis exceeds the neurotoxic on it")
    if counts["therapeutic_hd"] - counts["therapeutic_hd_on_hd"] > n_nt - nt[3]:
        problems.append("therapeutic HD off dialysis exceeds the neurotoxic off dialysis")
    if max(counts["mental_change"], counts["seizure"], counts["icu"]) > n_nt:
        problems.append("neurotoxic_counts exceed the neurotoxic")
    return problems


def test_the_base_holds_the_count_identities():
    assert consistency(load_params().raw) == []


@pytest.mark.parametrize("site", SITES)
def test_each_site_file_loads_consistently(site):
    params = load_params(SITES[site])
    assert consistency(params.raw) == []
    assert overlay_files(SITES[site]) == [
        SITES[site],
        SITES[site].parent / "../baclofen_ckd.synth.yaml",
    ]
    # the study the base names, found from the site's folder
    assert (params.path.parent / params["study"]).resolve() == (
        ROOT / "studies" / "baclofen_ckd.yaml"
    )
    text = SITES[site].read_text(encoding="utf-8")
    assert text.startswith("# Synthetic site") and "ASSUMPTION" in text


def test_site_b_keeps_the_base_rates_in_its_new_group_sizes():
    base, b = load_params().raw, load_params(SITES["site_b"]).raw
    for g in (1, 2, 3):
        size, base_size = b["ckd_group"][g], base["ckd_group"][g]
        nt, base_nt = b["neurotoxicity_by_group"][g], base["neurotoxicity_by_group"][g]
        assert abs(nt - base_nt / base_size * size) <= 1
        for cell, (n_cell, base_cell) in enumerate(
            ((size - nt, base_size - base_nt), (nt, base_nt))
        ):
            count = b["diabetic_nephropathy"][g][cell]
            assert abs(count - base["diabetic_nephropathy"][g][cell] / base_cell * n_cell) <= 1


@pytest.fixture(scope="module")
def cohorts() -> dict[str, pd.DataFrame]:
    """Each site and the reference assumptions at the same small n and seed."""
    out = {"base": generate(N, SEED)}
    out.update({site: generate(N, SEED, load_params(path)) for site, path in SITES.items()})
    return out


@pytest.mark.parametrize("site", SITES)
def test_each_site_generates_a_valid_cohort(site, cohorts, study):
    frame = cohorts[site]
    assert len(frame) == N
    report = validate_frame(frame, study, source=site)
    assert report.errors == []


def test_the_case_mix_differs_in_the_documented_direction(cohorts):
    share_dialysis = {k: (f["ckd_group"] == 3).mean() for k, f in cohorts.items()}
    mean_age = {k: f["age"].mean() for k, f in cohorts.items()}
    # site A: the paper's centre, another sample (same group counts, similar ages)
    assert share_dialysis["site_a"] == share_dialysis["base"]
    assert abs(mean_age["site_a"] - mean_age["base"]) < 2
    # site B: dialysis-heavy -- about half in CKD group 3 against a third
    assert share_dialysis["site_b"] == pytest.approx(200 / 401, abs=0.002)
    assert share_dialysis["base"] == pytest.approx(130 / 401, abs=0.002)
    assert abs(mean_age["site_b"] - mean_age["base"]) < 2
    # site C: older -- same groups, mean age up by about 8 years, most aged 60 or more
    assert share_dialysis["site_c"] == share_dialysis["base"]
    assert mean_age["site_c"] - mean_age["base"] > 5
    assert (cohorts["site_c"]["age"] >= 60).mean() > 0.8 > (cohorts["base"]["age"] >= 60).mean()
    # the neurotoxicity rate in each CKD group is the base's, whatever the group sizes
    for g in (1, 2, 3):
        rates = {k: f.loc[f["ckd_group"] == g, "neurotoxicity"].mean() for k, f in cohorts.items()}
        assert rates["site_b"] == pytest.approx(rates["base"], abs=0.01)


def test_the_command_line_synth_and_validate_a_site(tmp_path, capsys):
    out = tmp_path / "site_b.parquet"
    assert main(["synth", "--n", "1500", "--seed", "202", "--params",
                 str(SITES["site_b"]), "--out", str(out)]) == 0  # fmt: skip
    assert main(["validate", str(out)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    frame = pd.read_parquet(out)
    assert (frame["ckd_group"] == 3).sum() == round(1500 * 200 / 401)
