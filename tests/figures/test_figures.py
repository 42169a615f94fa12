"""Every figure kind on the synthetic cohort: drawn, byte-identical twice, numbers checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from analysis.derive import derive_cohort
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
    assert kinds == {"boxplot", "forest", "predicted_probability", "flow", "missing"}


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
