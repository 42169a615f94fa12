"""Every figure kind on the synthetic cohort: drawn, byte-identical twice, numbers checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from analysis.derive import derive_cohort
from analysis.disclosure import Profile
from analysis.errors import AnalysisError, StudyFileError
from analysis.figures import FigureInputs, draw_figure, draw_figures
from analysis.figures.missing import percent_missing
from analysis.figures.style import axis_label, unit_text
from analysis.study import Study, load_study
from analysis.synth.generator import generate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inputs(study: Study, synthetic: pd.DataFrame, results: dict[str, dict]) -> FigureInputs:
    cohort, flow = derive_cohort(synthetic, study)
    return FigureInputs(cohort, study, {"table4": results["table4"]}, {"steps": flow})


def _spec(study: Study, kind: str) -> dict[str, Any]:
    return next(f for f in study.figures if f.get("kind", "boxplot") == kind)


def test_every_kind_is_declared(study: Study) -> None:
    kinds = {f.get("kind", "boxplot") for f in study.figures}
    assert kinds == {"boxplot", "forest", "predicted_probability", "flow", "missing", "calibration"}


def test_drawn_twice_byte_identical(inputs: FigureInputs, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        out.mkdir()
        paths = draw_figures(inputs.cohort, inputs.study, out, inputs.results, inputs.flow)
        assert [p.name for p in paths] == [f"{f['id']}.png" for f in inputs.study.figures]
    for spec in inputs.study.figures:
        for suffix in (".png", ".svg"):
            a = (first / spec["id"]).with_suffix(suffix).read_bytes()
            b = (second / spec["id"]).with_suffix(suffix).read_bytes()
            assert a and a == b, f"{spec['id']}{suffix} differs between two draws"
        png = (first / f"{spec['id']}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"pHYs" in png  # 300 dpi is recorded
        svg = (first / f"{spec['id']}.svg").read_text()
        assert "<dc:date>" not in svg


def test_png_is_300_dpi(inputs: FigureInputs, tmp_path: Path) -> None:
    from PIL import Image

    draw_figures(inputs.cohort, inputs.study, tmp_path, inputs.results, inputs.flow)
    with Image.open(tmp_path / "albumin_by_neurotoxicity.png") as image:
        assert round(image.info["dpi"][0]) == 300


def test_boxplot_n_labels_units_legend(inputs: FigureInputs) -> None:
    spec = next(f for f in inputs.study.figures if f["id"] == "daily_dose_by_ckd_group")
    fig, data = draw_figure(spec, inputs)
    ax = fig.axes[0]
    counts = inputs.cohort.dropna(subset=["daily_dose", "neurotoxicity"])["ckd_group"]
    codes = inputs.study.variables["ckd_group"].codes
    expected = [f"{label}\n(n = {(counts == code).sum()})" for code, label in codes.items()]
    assert [t.get_text() for t in ax.get_xticklabels()] == expected
    assert ax.get_legend().get_title().get_text() == "Neurotoxicity"
    assert ax.get_ylabel() == "Daily dose (mg/day)"
    assert sum(data["counts"].values()) == data["n"]


def test_log_ticks_are_plain_numbers(inputs: FigureInputs) -> None:
    spec = next(f for f in inputs.study.figures if f.get("log_y"))
    fig, _ = draw_figure(spec, inputs)
    ax = fig.axes[0]
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all("^" not in s and "$" not in s for s in labels)
    assert {"100", "1,000"} & set(labels)


def test_same_colours_for_neurotoxicity_everywhere(inputs: FigureInputs) -> None:
    """No/Yes of neurotoxicity take the same two colours in every box plot."""
    from matplotlib.colors import to_hex

    seen = []
    for spec in inputs.study.figures:
        if spec.get("kind", "boxplot") != "boxplot":
            continue
        fig, _ = draw_figure(spec, inputs)
        points = [c for c in fig.axes[0].collections if len(c.get_offsets())]
        seen.append(sorted({to_hex(c.get_facecolor()[0], keep_alpha=False) for c in points}))
    assert all(s == ["#0072b2", "#d55e00"] for s in seen)


def test_units_typeset() -> None:
    assert unit_text("kg/m2") == "kg/m²"
    assert unit_text("mL/min/1.73m2") == "mL/min/1.73 m²"
    assert unit_text("mg/dL") == "mg/dL"


def test_axis_label_of_bmi(study: Study) -> None:
    assert axis_label(study.variables["bmi"]).endswith("(kg/m²)")


def test_forest_points_are_the_json_odds_ratios(inputs: FigureInputs) -> None:
    result = inputs.results["table4"]
    fig, drawn = draw_figure(_spec(inputs.study, "forest"), inputs)
    adjusted = {t["term"]: t for t in result["terms"] if t["term"] != "const"}
    assert [row[0] for row in drawn["adjusted"]] == list(adjusted)
    for term, odds, low, high in drawn["adjusted"]:
        assert (odds, low, high) == (
            adjusted[term]["odds_ratio"], adjusted[term]["ci_low"], adjusted[term]["ci_high"]
        )  # fmt: skip
    for term, odds, _, _ in drawn["crude"]:
        (crude_term,) = [t for fit in result["crude"].values() for t in fit["terms"]
                         if t["term"] == term]  # fmt: skip
        assert odds == crude_term["odds_ratio"]
    # the markers on the Axes sit at those odds ratios
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    xs = sorted(float(x) for line in ax.lines if line.get_marker() == "o"
                for x in line.get_xdata())  # fmt: skip
    expected = sorted(row[1] for fit in ("adjusted", "crude") for row in drawn[fit])
    np.testing.assert_allclose(xs, expected, rtol=0, atol=0)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        result["term_labels"][t] for t in reversed(list(adjusted))
    ]


def test_predicted_probability_at_the_mean(inputs: FigureInputs) -> None:
    """The curve at mean albumin equals expit of the JSON's linear predictor by hand."""
    result = inputs.results["table4"]
    b = {t["term"]: t["estimate"] for t in result["terms"]}
    _, curve = draw_figure(_spec(inputs.study, "predicted_probability"), inputs)
    used = inputs.cohort.dropna(subset=["albumin", "diabetic_nephropathy", "neurotoxicity"])
    assert len(used) == result["n"]
    mean = used["albumin"].mean()
    by_hand = expit(b["const"] + b["albumin"] * mean)  # diabetic nephropathy at its reference
    at_mean = np.interp(mean, curve["x"], curve["p"])
    assert at_mean == pytest.approx(by_hand, abs=1e-4)
    assert curve["held"] == {"diabetic_nephropathy": {"at": "reference", "value": 0}}
    assert np.all(curve["low"] <= curve["p"]) and np.all(curve["p"] <= curve["high"])
    assert curve["x"].min() == used["albumin"].min()
    assert curve["x"].max() == used["albumin"].max()


def test_predicted_probability_refuses_other_results(inputs: FigureInputs) -> None:
    wrong = {**inputs.results["table4"]}
    wrong["terms"] = [{**t, "estimate": t["estimate"] + 0.01} for t in wrong["terms"]]
    other = FigureInputs(inputs.cohort, inputs.study, {"table4": wrong}, inputs.flow)
    with pytest.raises(AnalysisError, match="not from the same run"):
        draw_figure(_spec(inputs.study, "predicted_probability"), other)


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"separation": True}, "shows separation"),
        ({"converged": False}, "did not converge"),
        ({"method": "firth"}, "fitted by firth"),
    ],
)
def test_no_curve_for_a_model_without_ml_estimates(inputs, change, reason) -> None:
    """A site's data may separate: the figure says why, the run goes on."""
    unusable = {**inputs.results["table4"], **change}
    other = FigureInputs(inputs.cohort, inputs.study, {"table4": unusable}, inputs.flow)
    fig, drawn = draw_figure(_spec(inputs.study, "predicted_probability"), other)
    assert reason in drawn["not_drawn"]
    assert [t.get_text() for t in fig.axes[0].texts] == [f"Not drawn: {drawn['not_drawn']}"]


def test_forest_leaves_out_limits_that_do_not_exist(inputs: FigureInputs) -> None:
    result = {**inputs.results["table4"]}
    result["terms"] = [
        {**t, "ci_high": None} if t["term"] == "albumin" else t for t in result["terms"]
    ]
    other = FigureInputs(inputs.cohort, inputs.study, {"table4": result}, inputs.flow)
    fig, drawn = draw_figure(_spec(inputs.study, "forest"), other)
    assert any(row[0] == "albumin" and row[3] is None for row in drawn["adjusted"])
    markers = [line for line in fig.axes[0].lines if line.get_marker() == "o"]
    assert len(markers) == len(drawn["adjusted"]) + len(drawn["crude"]) - 1


def test_flow_texts_hold_every_step(inputs: FigureInputs) -> None:
    fig, texts = draw_figure(_spec(inputs.study, "flow"), inputs)
    drawn = [t.get_text() for t in fig.axes[0].texts]
    for step in inputs.flow["steps"]:
        assert any(f"n = {step['n']}" in t for t in drawn)
    assert len(texts["excluded"]) == len(inputs.flow["steps"]) - 1


def test_flow_shows_reasons(study: Study) -> None:
    raw = generate(401)
    raw.loc[:9, "albumin"] = np.nan  # not a criterion: nothing excluded for it
    cohort, flow = derive_cohort(raw, study)
    flow[1] = {**flow[1], "excluded": 5, "excluded_value_missing": 2, "excluded_not_met": 3,
               "missing_variables": {"egfr": 2}}  # fmt: skip
    _, texts = draw_figure(_spec(study, "flow"), FigureInputs(cohort, study, {}, {"steps": flow}))
    assert "Excluded (n = 5)" in texts["excluded"][0]
    assert "value missing: 2 (egfr 2)" in texts["excluded"][0]
    assert "criterion not met: 3" in texts["excluded"][0]


def test_missing_percentages(inputs: FigureInputs) -> None:
    _, data = draw_figure(_spec(inputs.study, "missing"), inputs)
    cohort = inputs.cohort
    assert data["percent"]["albumin"] == pytest.approx(100 * cohort["albumin"].isna().mean())
    icu = cohort[cohort["icu"] == 1]
    assert data["percent"]["icu_days"] == pytest.approx(100 * icu["icu_days"].isna().mean())
    assert list(data["percent"]) == list(percent_missing(cohort, inputs.study))


def test_needs_results_and_flow(inputs: FigureInputs) -> None:
    bare = FigureInputs(inputs.cohort, inputs.study)
    with pytest.raises(AnalysisError, match="--results"):
        draw_figure(_spec(inputs.study, "forest"), bare)
    with pytest.raises(AnalysisError, match="--flow"):
        draw_figure(_spec(inputs.study, "flow"), bare)


@pytest.mark.parametrize(
    ("figure", "message"),
    [
        ({"id": "f", "kind": "forest", "model": "nope", "caption": "c"}, "not a model"),
        ({"id": "f", "kind": "flow", "x": "age", "caption": "c"}, "not a key of a flow"),
        (
            {
                "id": "f",
                "kind": "predicted_probability",
                "model": "table4",
                "x": "age",
                "caption": "c",
            },
            "not a predictor",
        ),
        ({"id": "f", "kind": "forest", "caption": "c"}, "model"),
        ({"id": "f", "caption": "c"}, "x"),
        ({"id": "f", "kind": "pie", "caption": "c"}, "kind"),
    ],
)
def test_study_file_figure_checks(tmp_path: Path, figure: dict, message: str) -> None:
    import yaml

    raw = yaml.safe_load((ROOT / "studies" / "baclofen_ckd.yaml").read_text())
    raw["figures"] = [figure]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(StudyFileError, match=message):
        load_study(path)


# --------------------------------------------------------------------------- disclosure

THRESHOLD = Profile(name="threshold", description="test", threshold=10)
OPENSAFELY = Profile(name="opensafely", description="test", threshold=8, round_to=5,
                     rule="7 or fewer")  # fmt: skip


def _protected(inputs: FigureInputs, profile: Profile, **change: Any) -> FigureInputs:
    fields = {"results": inputs.results, "flow": inputs.flow, **change}
    return FigureInputs(inputs.cohort, inputs.study, fields["results"], fields["flow"], profile)


def test_protected_boxplot_draws_no_patient_and_no_small_group(inputs: FigureInputs) -> None:
    """Among the 28 with neurotoxicity the CKD groups have 10, 6 and 12 patients: 6 is
    not drawn, and 10 (the smallest other) loses its n label, since 28 - 12 - 10 = 6."""
    spec = {"id": "f", "y": "daily_dose", "x": "ckd_group", "where": {"neurotoxicity": 1},
            "caption": "c"}  # fmt: skip
    fig, data = draw_figure(spec, _protected(inputs, THRESHOLD))
    ax = fig.axes[0]
    cases = inputs.cohort[inputs.cohort["neurotoxicity"] == 1].dropna(subset=["daily_dose"])
    sizes = cases["ckd_group"].value_counts().to_dict()
    assert sizes == {1: 10, 2: 6, 3: 12}
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "CKD stage 4\n(n not shown)", "CKD stage 5 non-dialysis\n(n < 10, not shown)",
        "Dialysis\n(n = 12)",
    ]  # fmt: skip
    assert data["counts"] == {"CKD stage 4": None, "CKD stage 5 non-dialysis": None,
                              "Dialysis": 12}  # fmt: skip
    assert not [c for c in ax.collections if len(c.get_offsets())]  # no points, no fliers
    flier_lines = [line for line in ax.lines if line.get_marker() not in (None, "None", "")]
    assert not [line for line in flier_lines if len(line.get_xdata())]
    ys = {round(float(y), 9) for line in ax.lines for y in line.get_ydata()}
    dialysis = cases.loc[cases["ckd_group"] == 3, "daily_dose"].to_numpy()
    for q in np.percentile(dialysis, [5, 95]):  # whiskers at the 5th and 95th percentiles
        assert round(float(q), 9) in ys
    assert min(dialysis) not in ys or min(dialysis) == np.percentile(dialysis, 5)
    stage5 = cases.loc[cases["ckd_group"] == 2, "daily_dose"].to_numpy()
    assert not ({round(float(q), 9) for q in np.percentile(stage5, [25, 50, 75])} <= ys)
    notes = " ".join(t.get_text() for t in fig.texts)
    assert "5th and 95th percentiles" in notes and "n < 10 not shown" in notes


def test_protected_boxplot_rounds_n_labels(inputs: FigureInputs) -> None:
    spec = next(f for f in inputs.study.figures if f["id"] == "daily_dose_by_ckd_group")
    fig, _ = draw_figure(spec, _protected(inputs, OPENSAFELY))
    counts = inputs.cohort.dropna(subset=["daily_dose", "neurotoxicity"])["ckd_group"]
    by_hand = {1: 175, 2: 95, 3: 130}  # 174, 97, 130 to the nearest 5
    assert counts.value_counts().to_dict() == {1: 174, 3: 130, 2: 97}
    codes = inputs.study.variables["ckd_group"].codes
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        f"{label}\n(n = {by_hand[code]})" for code, label in codes.items()
    ]


def test_model_figures_not_drawn_when_the_model_is_withheld(inputs: FigureInputs) -> None:
    """27 events: kept at a threshold of 10, withheld at 30."""
    high = Profile(name="threshold", description="test", threshold=30)
    for kind in ("forest", "predicted_probability"):
        fig, drawn = draw_figure(_spec(inputs.study, kind), _protected(inputs, high))
        assert drawn["not_drawn"] == "model withheld: events below 30"
        assert [t.get_text() for t in fig.axes[0].texts] == [f"Not drawn: {drawn['not_drawn']}"]
        _, kept = draw_figure(_spec(inputs.study, kind), _protected(inputs, THRESHOLD))
        assert "not_drawn" not in kept


def test_protected_probability_curve_shows_no_patient(inputs: FigureInputs) -> None:
    fig, curve = draw_figure(_spec(inputs.study, "predicted_probability"),
                             _protected(inputs, THRESHOLD))  # fmt: skip
    used = inputs.cohort.dropna(subset=["albumin", "diabetic_nephropathy", "neurotoxicity"])
    low, high = np.percentile(used["albumin"], [5, 95])
    assert curve["x"].min() >= low and curve["x"].max() <= high
    assert not [line for line in fig.axes[0].lines if line.get_marker() == "|"]


def test_protected_flow_and_missing(inputs: FigureInputs, study: Study) -> None:
    steps = [dict(s) for s in inputs.flow["steps"]]
    steps[1] = {**steps[1], "excluded": 5, "excluded_value_missing": 2, "excluded_not_met": 3,
                "missing_variables": {"egfr": 2}, "n": steps[0]["n"] - 5}  # fmt: skip
    _, texts = draw_figure(_spec(study, "flow"), _protected(inputs, THRESHOLD,
                                                            flow={"steps": steps}))  # fmt: skip
    assert texts["excluded"][0].startswith("Excluded (n = suppressed)")
    assert "criterion not met: suppressed" in texts["excluded"][0]
    _, data = draw_figure(_spec(study, "missing"), _protected(inputs, THRESHOLD))
    assert int(inputs.cohort["albumin"].isna().sum()) == 8  # < 10: not drawn
    assert data["percent"]["albumin"] is None
    pco2 = inputs.cohort["pco2"]
    assert data["percent"]["pco2"] == pytest.approx(100 * pco2.isna().mean())
    _, rounded = draw_figure(_spec(study, "missing"), _protected(inputs, OPENSAFELY))
    missing, n = int(pco2.isna().sum()), len(pco2)
    by_hand = 100 * (5 * round(missing / 5)) / (5 * round(n / 5))
    assert rounded["percent"]["pco2"] == pytest.approx(by_hand)
    assert rounded["n"] == 5 * round(n / 5)


def test_protected_figures_byte_identical(inputs: FigureInputs, tmp_path: Path) -> None:
    for out in (tmp_path / "a", tmp_path / "b"):
        out.mkdir()
        draw_figures(inputs.cohort, inputs.study, out, inputs.results, inputs.flow, OPENSAFELY)
    for spec in inputs.study.figures:
        for suffix in (".png", ".svg"):
            a = (tmp_path / "a" / spec["id"]).with_suffix(suffix).read_bytes()
            assert a == (tmp_path / "b" / spec["id"]).with_suffix(suffix).read_bytes()


def test_a_calibration_results_file_does_not_take_the_models_place(workflow_run, tmp_path):
    """`figures --results table4.json calibration.json`: the sensitivity file is the
    calibration figure's input, and the model's results stay the forest plot's."""
    import subprocess
    import sys

    out = tmp_path / "figures"
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "figures", "results/cohort.parquet",
         "--study", "studies/baclofen_ckd.yaml", "--flow", "results/flow.json",
         "--results", "results/tables/table4.json", "results/sensitivity/calibration.json",
         "--out-dir", str(out)],
        cwd=workflow_run, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    made = workflow_run / "reports" / "figures"
    for stem in ("table4_forest", "table4_calibration"):
        assert (out / f"{stem}.png").read_bytes() == (made / f"{stem}.png").read_bytes(), stem
