"""Share and pool through the command line, checked against the analysis of the
concatenated patients (scipy and statsmodels on the rows the sites never send)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from analysis.__main__ import main
from analysis.derive import apply_where, derive_cohort
from analysis.inputs import load_input
from analysis.multisite.bundle import seal
from analysis.study import load_study

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "studies" / "baclofen_ckd.yaml"
SITES = {  # name: (n, seed, assumptions file) as config/config.yaml's multisite.sites
    "site_a": (12000, 101, "studies/multisite/site_a.synth.yaml"),
    "site_b": (15000, 202, "studies/multisite/site_b.synth.yaml"),
    "site_c": (9000, 303, "studies/multisite/site_c.synth.yaml"),
}
THRESHOLD = 10
ROUNDS = 6


def cli(*args: str) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def study():
    return load_study(STUDY)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Three sites' data, bundles, the rounds of the distributed fit and the pooled output."""
    base = tmp_path_factory.mktemp("multisite")
    data, bundles = {}, {}
    for site, (n, seed, params) in SITES.items():
        data[site] = base / f"{site}.parquet"
        bundles[site] = base / f"{site}.json"
        assert (
            cli(
                "synth",
                "--n",
                n,
                "--seed",
                seed,
                "--params",
                ROOT / params,
                "--study",
                STUDY,
                "--out",
                data[site],
            )
            == 0
        )
        assert (
            cli("share", data[site], "--study", STUDY, "--site", site, "--out", bundles[site]) == 0
        )
    paths = list(bundles.values())
    rounds = [base / "round_0.json"]
    assert cli("pool-round", *paths, "--study", STUDY, "--out", rounds[0]) == 0
    for r in range(ROUNDS):
        parts = []
        for site in SITES:
            parts.append(base / f"round_{r}_{site}.json")
            assert (
                cli(
                    "share-round",
                    data[site],
                    "--study",
                    STUDY,
                    "--site",
                    site,
                    "--round",
                    rounds[-1],
                    "--out",
                    parts[-1],
                )
                == 0
            )
        rounds.append(base / f"round_{r + 1}.json")
        assert (
            cli(
                "pool-round",
                *paths,
                "--study",
                STUDY,
                "--previous",
                rounds[-2],
                "--contributions",
                *parts,
                "--out",
                rounds[-1],
            )
            == 0
        )
    out = base / "pooled"
    assert cli("pool", *paths, "--study", STUDY, "--rounds", rounds[-1], "--out", out) == 0
    pooled = json.loads((out / "pooled.json").read_text(encoding="utf-8"))
    return {
        "base": base,
        "data": data,
        "bundles": bundles,
        "out": out,
        "pooled": pooled,
        "final_round": rounds[-1],
    }


@pytest.fixture(scope="module")
def concatenated(run, study) -> pd.DataFrame:
    """The analysis the sites cannot run: every patient of every site in one frame."""
    frames = [
        derive_cohort(load_input(str(p), study), study)[0].assign(site_of_test=site)
        for site, p in run["data"].items()
    ]
    return pd.concat(frames, ignore_index=True)


def _table(pooled: dict, table_id: str) -> dict:
    return next(t for t in pooled["tables"] if t["id"] == table_id)


def _groups(frame: pd.DataFrame, study, table_id: str, variable: str) -> list[np.ndarray]:
    spec = study.table(table_id)
    data = apply_where(frame, spec.get("where"))
    var = study.variables[variable]
    if var.only_if:
        ((ref, codes),) = var.only_if.items()
        data = data.loc[data[ref].isin(codes)]
    group_var = study.variables[spec["group_by"]]
    return [
        data.loc[data[group_var.name] == code, variable].dropna().to_numpy(float)
        for code in group_var.codes
    ]


# ------------------------------------------------------------------ exactness


@pytest.mark.parametrize("table_id", ["table1", "table2", "table3"])
def test_means_sds_t_and_anova_equal_the_concatenated_analysis(run, concatenated, study, table_id):
    table = _table(run["pooled"], table_id)
    checked = 0
    for row in table["rows"]:
        if row["kind"] != "continuous" or any(v is None for v in row["pooled"].values()):
            continue
        groups = _groups(concatenated, study, table_id, row["variable"])
        for key, values in zip(row["pooled"], groups, strict=True):
            got = row["pooled"][key]
            assert got["n"] == values.size
            assert got["mean"] == pytest.approx(values.mean(), rel=1e-10)
            assert got["sd"] == pytest.approx(values.std(ddof=1), rel=1e-10)
        test = row["tests"]["parametric"]
        if len(groups) == 2:
            expected = stats.ttest_ind(*groups, equal_var=True)
        else:
            expected = stats.f_oneway(*groups)
        assert test["statistic"] == pytest.approx(expected.statistic, rel=1e-10)
        assert test["pvalue"] == pytest.approx(expected.pvalue, rel=1e-8, abs=1e-300)
        checked += 1
    assert checked >= 3  # the test compared something


@pytest.mark.parametrize("table_id", ["table1", "table2", "table3"])
def test_site_adjusted_anova_equals_ols_with_site_on_the_concatenated_rows(
    run, concatenated, study, table_id
):
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm

    spec = study.table(table_id)
    group = study.variables[spec["group_by"]].name
    checked = 0
    for row in _table(run["pooled"], table_id)["rows"]:
        test = row["tests"].get("site_adjusted") if row["kind"] == "continuous" else None
        if test is None:
            continue
        var = study.variables[row["variable"]]
        data = apply_where(concatenated, spec.get("where"))
        if var.only_if:
            ((ref, codes),) = var.only_if.items()
            data = data.loc[data[ref].isin(codes)]
        data = data[[var.name, group, "site_of_test"]].dropna()
        fit = ols(f"{var.name} ~ C(site_of_test) + C({group})", data).fit()
        table = anova_lm(fit, typ=2)
        assert test["statistic"] == pytest.approx(table.loc[f"C({group})", "F"], rel=1e-8)
        assert test["pvalue"] == pytest.approx(
            table.loc[f"C({group})", "PR(>F)"], rel=1e-6, abs=1e-300
        )
        assert test["df_within"] == table.loc["Residual", "df"]
        checked += 1
    assert checked >= 3  # the test compared something


def test_counts_and_naive_chi_square_equal_the_concatenated_crosstab(run, concatenated, study):
    table = _table(run["pooled"], "table2")
    checked = 0
    for row in table["rows"]:
        if row["kind"] != "categorical" or row["pooled"] is None:
            continue
        var = study.variables[row["variable"]]
        crosstab = pd.crosstab(concatenated[var.name], concatenated["neurotoxicity"])
        crosstab = crosstab.reindex(index=var.levels, columns=[0, 1], fill_value=0)
        for j, key in enumerate(["0", "1"]):
            for level in row["levels"]:
                code = var.levels[[str(c) for c in var.levels].index(level["code"])]
                assert row["pooled"][key]["counts"][level["code"]] == crosstab.loc[code].iloc[j]
        expected = stats.chi2_contingency(crosstab.to_numpy(), correction=False)
        got = row["tests"]["naive_chi_square"]
        assert got["statistic"] == pytest.approx(expected.statistic, rel=1e-10)
        checked += 1
    assert checked >= 3


def test_distributed_fit_equals_the_pooled_data_statsmodels_fit(run, concatenated, study):
    spec = study.model("table4")
    data = concatenated[[spec["outcome"], "albumin", "diabetic_nephropathy"]].dropna()
    y = (data[spec["outcome"]] == spec["event"]).astype(float).to_numpy()
    X = sm.add_constant(data[["albumin", "diabetic_nephropathy"]].astype(float).to_numpy())
    reference = sm.Logit(y, X).fit(method="newton", tol=1e-12, disp=False)
    model = next(m for m in run["pooled"]["models"] if m["id"] == "table4")
    fit = model["distributed"]
    assert fit["n"] == y.size
    for term, b, se in zip(fit["terms"], reference.params, reference.bse, strict=True):
        assert term["estimate"] == pytest.approx(b, abs=1e-8)
        assert term["se"] == pytest.approx(se, abs=1e-8)
    assert fit["loglik"] == pytest.approx(reference.llf, rel=1e-10)


def test_meta_analysis_combines_each_sites_own_fit(run, study):
    """Each site's log OR in the pooled document is the statsmodels fit on that site's
    rows alone; the fixed-effect estimate is their inverse-variance mean."""
    model = next(m for m in run["pooled"]["models"] if m["id"] == "table4")
    entry = model["meta_analysis"]["terms"]["albumin"]
    estimates, weights = [], []
    for site_entry in entry["sites"]:
        frame = derive_cohort(load_input(str(run["data"][site_entry["site"]]), study), study)[0]
        data = frame[["neurotoxicity", "albumin", "diabetic_nephropathy"]].dropna()
        X = sm.add_constant(data[["albumin", "diabetic_nephropathy"]].astype(float).to_numpy())
        y = (data["neurotoxicity"] == 1).astype(float).to_numpy()
        fit = sm.Logit(y, X).fit(method="newton", tol=1e-12, disp=False)
        assert site_entry["log_or"] == pytest.approx(fit.params[1], abs=1e-8)
        assert site_entry["se"] == pytest.approx(fit.bse[1], abs=1e-8)
        estimates.append(fit.params[1])
        weights.append(1 / fit.bse[1] ** 2)
    fixed = np.average(estimates, weights=weights)
    assert entry["meta"]["fixed"]["estimate"] == pytest.approx(fixed, abs=1e-10)


# ------------------------------------------------------------------ what leaves a site

#: Integers of a bundle that are not counts of patients (a table's `where` holds codes).
_NOT_COUNTS = {"bundle_version", "threshold", "decimals"}


def _integers(obj, key=None):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k != "where":
                yield from _integers(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _integers(v, key)
    elif isinstance(obj, int) and not isinstance(obj, bool) and key not in _NOT_COUNTS:
        yield key, obj


def _list_lengths(obj, path="", out=None) -> dict[str, set[int]]:
    """The length of every list, by key path (list items share their list's path)."""
    out = {} if out is None else out
    if isinstance(obj, dict):
        for k, v in obj.items():
            _list_lengths(v, f"{path}.{k}", out)
    elif isinstance(obj, list):
        out.setdefault(path, set()).add(len(obj))
        for v in obj:
            _list_lengths(v, f"{path}[]", out)
    return out


def test_no_bundle_holds_a_count_below_the_threshold(run):
    for site, path in run["bundles"].items():
        bundle = json.loads(path.read_text(encoding="utf-8"))
        integers = list(_integers(bundle))
        assert len(integers) > 50  # the walk reached the counts
        small = [(k, v) for k, v in integers if 0 < v < THRESHOLD]
        assert not small, (site, small[:5])


def test_no_bundle_holds_a_row_level_value(run, tmp_path, study):
    """No minimum, maximum, listing or identifier, and nothing that grows with the number
    of patients: a bundle of 3,000 patients has the shape of one of 15,000."""
    bundle = json.loads(run["bundles"]["site_b"].read_text(encoding="utf-8"))
    text = run["bundles"]["site_b"].read_text(encoding="utf-8")
    for forbidden in ('"min"', '"max"', '"patient_id"', '"case"', '"values"'):
        assert forbidden not in text
    assert {w["output"] for w in bundle["withheld"]} == {"table5"}
    small_data, small_bundle = tmp_path / "small.parquet", tmp_path / "small.json"
    assert (
        cli(
            "synth",
            "--n",
            3000,
            "--seed",
            202,
            "--params",
            ROOT / SITES["site_b"][2],
            "--study",
            STUDY,
            "--out",
            small_data,
        )
        == 0
    )
    assert (
        cli("share", small_data, "--study", STUDY, "--site", "site_b", "--out", small_bundle) == 0
    )
    small_doc = json.loads(small_bundle.read_text(encoding="utf-8"))
    assert not [(k, v) for k, v in _integers(small_doc) if 0 < v < THRESHOLD]
    assert "null" in small_bundle.read_text(encoding="utf-8")  # something was withheld there
    small, large = _list_lengths(small_doc), _list_lengths(bundle)
    common = small.keys() & large.keys()
    assert len(common) >= 10
    assert all(small[path] == large[path] for path in common)
    assert max(max(lengths) for lengths in large.values()) <= 30  # rows of the largest table
    ids = set(pd.read_parquet(run["data"]["site_b"])[study.subject_id].astype(str))
    assert not any(f'"{i}"' in text for i in list(ids)[:200])


def test_what_a_site_withheld_is_not_pooled_and_the_report_says_who(run, tmp_path):
    """A small site withholds small groups; those rows are not pooled at all (a pooled
    value over the other sites would look complete), and the note names the site."""
    data, small = tmp_path / "small.parquet", tmp_path / "small.json"
    assert cli("synth", "--n", 1500, "--seed", 7, "--study", STUDY, "--out", data) == 0
    assert cli("share", data, "--study", STUDY, "--site", "small", "--out", small) == 0
    out = tmp_path / "pooled"
    assert cli("pool", run["bundles"]["site_a"], small, "--study", STUDY, "--out", out) == 0
    pooled = json.loads((out / "pooled.json").read_text(encoding="utf-8"))
    not_pooled = [
        (t["id"], r["variable"], note)
        for t in pooled["tables"]
        for r in t["rows"]
        for note in r["notes"]
        if "withheld" in note
    ]
    assert not_pooled
    for table_id, variable, note in not_pooled:
        assert "small" in note
        row = next(r for r in _table(pooled, table_id)["rows"] if r["variable"] == variable)
        values = row["pooled"].values() if row["kind"] == "continuous" else [row["pooled"]]
        assert None in values
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "not pooled" in report


def test_the_summary_shows_what_leaves(run):
    summary = run["bundles"]["site_a"].with_suffix(".md").read_text(encoding="utf-8")
    bundle = json.loads(run["bundles"]["site_a"].read_text(encoding="utf-8"))
    assert bundle["checksum"]["value"] in summary
    assert "Not sent: table5" in summary
    assert "withheld" in summary


# ------------------------------------------------------------------ bad input


def _fails(capsys, *args) -> str:
    status = cli(*args)
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert err.startswith("error: ") and "\n" not in err, err
    return err


def _resealed(src: Path, dst: Path, change) -> Path:
    bundle = json.loads(src.read_text(encoding="utf-8"))
    change(bundle)
    dst.write_text(json.dumps(seal(bundle)), encoding="utf-8")
    return dst


def test_a_bundle_edited_by_hand_fails_its_checksum(run, tmp_path, capsys):
    edited = tmp_path / "edited.json"
    text = run["bundles"]["site_a"].read_text(encoding="utf-8")
    edited.write_text(text.replace('"n": 12000', '"n": 12001', 1), encoding="utf-8")
    out = tmp_path / "out"
    err = _fails(capsys, "pool", edited, run["bundles"]["site_b"], "--study", STUDY, "--out", out)
    assert str(edited) in err and "checksum" in err
    assert not out.exists()


def test_duplicate_site_names_are_refused(run, tmp_path, capsys):
    copy = shutil.copy(run["bundles"]["site_a"], tmp_path / "again.json")
    err = _fails(
        capsys, "pool", run["bundles"]["site_a"], copy, "--study", STUDY, "--out", tmp_path / "out"
    )
    assert "again.json" in err and "site 'site_a' already given" in err


def test_a_count_below_the_threshold_is_refused(run, tmp_path, capsys):
    def leak(bundle):
        row = next(r for r in bundle["tables"][1]["rows"] if r["kind"] == "categorical")
        key = next(iter(row["counts"]))
        level = next(iter(row["counts"][key]))
        row["counts"][key][level] = 3

    leaky = _resealed(run["bundles"]["site_c"], tmp_path / "leaky.json", leak)
    err = _fails(
        capsys, "pool", run["bundles"]["site_a"], leaky, "--study", STUDY, "--out", tmp_path / "out"
    )
    assert "leaky.json" in err and "= 3 is below the disclosure threshold 10" in err


def test_a_bundle_missing_a_variable_is_refused(run, tmp_path, capsys):
    def drop(bundle):
        table = next(t for t in bundle["tables"] if t["id"] == "table2")
        table["rows"] = [r for r in table["rows"] if r["variable"] != "albumin"]

    partial = _resealed(run["bundles"]["site_b"], tmp_path / "partial.json", drop)
    err = _fails(
        capsys,
        "pool",
        run["bundles"]["site_a"],
        partial,
        "--study",
        STUDY,
        "--out",
        tmp_path / "out",
    )
    assert "partial.json" in err and "table table2 has no row 'albumin'" in err


def test_a_site_whose_data_lacks_a_variable_writes_no_bundle(run, tmp_path, capsys):
    frame = pd.read_parquet(run["data"]["site_a"]).drop(columns=["albumin"])
    data = tmp_path / "no_albumin.parquet"
    frame.to_parquet(data)
    out = tmp_path / "bundle.json"
    status = cli("share", data, "--study", STUDY, "--site", "x", "--out", out)
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    # the validation error names the column; the last line says nothing was written
    assert "column 'albumin'" in lines[0] and "missing" in lines[0]
    assert lines[-1].startswith("error: ") and "nothing was written" in lines[-1]
    assert not out.exists() and not out.with_suffix(".md").exists()


def test_bundles_of_another_study_version_are_refused(run, tmp_path, capsys):
    other = tmp_path / "study_v2.yaml"
    other.write_text(STUDY.read_text(encoding="utf-8").replace('version: "1.0"', 'version: "2.0"'))
    for name in ("baclofen_ckd.published.yaml",):
        shutil.copy(STUDY.parent / name, tmp_path / name)
    err = _fails(
        capsys,
        "pool",
        run["bundles"]["site_a"],
        run["bundles"]["site_b"],
        "--study",
        other,
        "--out",
        tmp_path / "out",
    )
    assert "site_a.json" in err and "version 1.0" in err and "version 2.0" in err


def test_a_rounding_profile_is_refused_for_sharing(run, tmp_path, capsys):
    err = _fails(
        capsys,
        "share",
        run["data"]["site_a"],
        "--study",
        STUDY,
        "--site",
        "a",
        "--out",
        tmp_path / "b.json",
        "--disclosure",
        "opensafely",
    )
    assert "rounds counts" in err


def test_a_stale_contribution_is_refused(run, tmp_path, capsys):
    """A site's answer to an earlier round cannot be used for a later one."""
    part = tmp_path / "part.json"
    assert (
        cli(
            "share-round",
            run["data"]["site_a"],
            "--study",
            STUDY,
            "--site",
            "site_a",
            "--round",
            run["final_round"],
            "--out",
            part,
        )
        == 0
    )
    round_0 = run["base"] / "round_0.json"
    err = _fails(
        capsys,
        "pool-round",
        *run["bundles"].values(),
        "--study",
        STUDY,
        "--previous",
        round_0,
        "--contributions",
        part,
        "--out",
        tmp_path / "next.json",
    )
    assert "part.json" in err and "round 0" in err


def test_bundles_in_another_order_pool_the_same(run, tmp_path):
    """`pool` after the rounds takes the bundles in any order (a shell glob's, say)."""
    reordered = list(reversed(list(run["bundles"].values())))
    out = tmp_path / "pooled"
    args = ("pool", *reordered, "--study", STUDY, "--rounds", run["final_round"], "--out", out)
    assert cli(*args) == 0
    assert (out / "pooled.json").read_bytes() == (run["out"] / "pooled.json").read_bytes()


def test_a_round_of_other_sites_names_both(run, capsys):
    two = list(run["bundles"].values())[:2]
    err = _fails(
        capsys, "pool", *two, "--study", STUDY, "--rounds", run["final_round"],
        "--out", run["base"] / "never",
    )  # fmt: skip
    assert "a round of sites site_a, site_b, site_c, but the bundles given are of" in err
    assert not (run["base"] / "never").exists()


def test_a_round_file_among_the_bundles_is_named_as_one(run, capsys):
    err = _fails(
        capsys, "pool", *run["bundles"].values(), run["final_round"], "--study", STUDY,
        "--out", run["base"] / "never",
    )  # fmt: skip
    assert "a round file of the distributed fit, not a bundle" in err


def test_pool_round_says_whether_the_fit_has_converged(run, tmp_path, capsys):
    parts = []
    for site in SITES:
        parts.append(tmp_path / f"{site}.json")
        args = ("share-round", run["data"][site], "--study", STUDY, "--site", site,
                "--round", run["final_round"], "--out", parts[-1])  # fmt: skip
        assert cli(*args) == 0
    capsys.readouterr()
    args = ("pool-round", *run["bundles"].values(), "--study", STUDY,
            "--previous", run["final_round"], "--contributions", *parts,
            "--out", tmp_path / "next.json")  # fmt: skip
    assert cli(*args) == 0
    out = capsys.readouterr().out
    final = json.loads(Path(run["final_round"]).read_text(encoding="utf-8"))
    at = final["models"]["table4"]["converged_at"]
    assert at is not None and at <= ROUNDS  # the fixture's rounds reached the maximum
    assert f"table4: converged at round {at}; `pool` may follow" in out


@pytest.mark.parametrize("verb", ["pool", "pool-round"])
def test_pooling_without_disclosure_control_is_one_line(run, tmp_path, capsys, verb):
    err = _fails(
        capsys, verb, *run["bundles"].values(), "--study", STUDY, "--disclosure", "off",
        "--out", tmp_path / "out",
    )  # fmt: skip
    assert err == "error: a disclosure profile is required (e.g. --disclosure threshold)"
