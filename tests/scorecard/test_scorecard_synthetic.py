"""The scorecard on the default synthetic results: it runs, counts every published
figure, words site data as a comparison, and writes self-contained, escaped HTML."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from analysis.scorecard import score, write_scorecard

ROOT = Path(__file__).resolve().parents[2]
N_FIGURES = len(
    yaml.safe_load((ROOT / "studies" / "baclofen_ckd.published.yaml").read_text())["entries"]
)
ENTRY_KEYS = {"table", "variable", "level", "group", "kind", "value", "source", "ours",
              "ours_text", "published_text", "reproduced", "rule", "why_not"}  # fmt: skip


@pytest.fixture(scope="module")
def flow(cohort):
    return {"steps": [{"step": 0, "label": "Records in the input", "n": len(cohort)}]}


@pytest.fixture(scope="module")
def card(study, results, flow):
    return score(study, results, flow)


def test_every_published_figure_is_scored(card):
    assert card["kind"] == "scorecard" and card["own_data"] is True
    assert card["n_total"] == N_FIGURES == len(card["entries"])
    assert card["n_reproduced"] == sum(e["reproduced"] for e in card["entries"])
    assert card["headline"] == f"{card['n_reproduced']} of {N_FIGURES} published figures reproduced"
    assert card["misses"] == [e for e in card["entries"] if not e["reproduced"]]
    for e in card["entries"]:
        assert ENTRY_KEYS <= set(e)
        assert e["ours"] is not None, e  # every figure is found in the synthetic results
        assert e["reproduced"] or e["why_not"]
    rules = {e["kind"]: e["rule"] for e in card["entries"]}
    assert rules["percent"] == "exact at 1 decimal"
    assert rules["p_value"] == "within a factor of 2 and same side of 0.05"
    assert rules["significance"] == "same side of 0.05"
    assert rules["count"] == "exact"


def test_counts_the_synthetic_cohort_reproduces_exactly(card):
    """The generator plants the published counts; these do not depend on calibration."""
    cohort_counts = [e for e in card["entries"] if e["table"] == "cohort" and e["kind"] == "count"]
    assert cohort_counts and all(e["reproduced"] for e in cohort_counts), [
        (e["variable"], e["ours_text"], e["published_text"]) for e in cohort_counts
    ]


def test_whole_cohort_figures_without_the_flow_come_from_the_tables(study, results, cohort):
    entries = [e for e in score(study, results)["entries"] if e["table"] == "cohort"]
    with_cohort = [e for e in score(study, {}, None, cohort)["entries"] if e["table"] == "cohort"]
    assert [e["ours"] for e in entries] == [e["ours"] for e in with_cohort]
    assert entries[0]["ours"] == len(cohort)


def test_missing_results_are_misses_with_a_reason(study, results, flow):
    partial = {k: v for k, v in results.items() if k not in ("table7", "table4")}
    card = score(study, partial, flow)
    assert card["n_total"] == N_FIGURES
    gone = [e for e in card["entries"] if e["table"] in ("table7", "table4")]
    assert gone and all(not e["reproduced"] for e in gone)
    assert {e["why_not"] for e in gone} == {"its results were not given"}
    assert {e["ours_text"] for e in gone} == {"n/a"}
    assert score(study, {}, None)["n_reproduced"] == 0  # no crash on nothing at all


def test_readers_see_captions_and_labels_not_ids(card):
    by_table = {e["table"]: e for e in card["entries"]}
    assert by_table["table2"]["table_caption"].startswith("Table 2. Characteristics")
    assert by_table["table4"]["table_short"] == "Table 4"
    (median,) = [e for e in card["entries"] if e["table"] == "table2" and e["kind"] == "median"]
    assert median["variable_label"] == "Daily dose, median (mg/day)"
    assert median["group_label"] == "Neurotoxicity: Yes"


def test_site_data_is_a_comparison(study, results, flow, tmp_path):
    card = score(study, results, flow, own_data=False)
    assert card["headline"] == (
        f"{card['n_reproduced']} of {N_FIGURES} published figures matched by this analysis"
    )
    assert card["title"] == "Comparison with the published study"
    html, md, _ = write_scorecard(
        card, study, tmp_path / "r.html", tmp_path / "r.md", tmp_path / "s.json"
    )
    for text in (html.read_text(), md.read_text()):
        assert "Comparison with the published study" in text
        assert "failed" not in text.lower() and "Reproduc" not in text
        assert "not reproduced" not in text


@pytest.fixture(scope="module")
def written(card, study, tmp_path_factory):
    out = tmp_path_factory.mktemp("scorecard")
    paths = write_scorecard(
        card, study, out / "reproduction.html", out / "reproduction.md", out / "scorecard.json"
    )
    return [p.read_text(encoding="utf-8") for p in paths]


def test_files_are_written_readably(written, card):
    html, md, text = written
    assert json.loads(text) == json.loads(json.dumps(card))  # the same, plain JSON
    assert card["headline"] in html and card["headline"] in md
    for e in card["misses"]:
        assert e["why_not"].replace("<", "&lt;") in md
    # misses first (when there are any), then one section per paper table, by caption
    if card["misses"]:
        assert html.index('id="misses"') < html.index("Table 1. ")
    else:
        assert 'id="misses"' not in html
    assert "## Table 2. Characteristics" in md
    for raw_id in ("daily_dose", "diabetic_nephropathy", "ckd_group"):
        assert raw_id not in html and raw_id not in md


def test_html_loads_nothing_and_escapes_text(card, study, tmp_path):
    html = written_html = write_scorecard(
        card, study, tmp_path / "a.html", tmp_path / "a.md", tmp_path / "a.json"
    )[0].read_text()
    lowered = html.lower()
    assert re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", lowered) is None
    assert "@import" not in lowered and "url(" not in lowered
    assert "<script" not in lowered and "<link" not in lowered
    evil = copy.deepcopy(card)
    evil["entries"][0]["source"] = "<script>alert(1)</script> & [x](http://e.org)"
    evil["misses"] = [{**evil["entries"][0], "why_not": "<b>bold</b>"}]
    html, md, _ = write_scorecard(
        evil, study, tmp_path / "b.html", tmp_path / "b.md", tmp_path / "b.json"
    )
    html, md = html.read_text(), md.read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html
    assert "<b>bold" not in html and "&lt;b&gt;bold" in html
    assert "<script>" not in md and "<b>" not in md and "\\[x\\]" in md
    assert written_html


def test_atomic_and_deterministic(card, study, tmp_path):
    first = [p.read_bytes() for p in write_scorecard(
        card, study, tmp_path / "x.html", tmp_path / "x.md", tmp_path / "x.json")]  # fmt: skip
    again = [p.read_bytes() for p in write_scorecard(
        card, study, tmp_path / "x.html", tmp_path / "x.md", tmp_path / "x.json")]  # fmt: skip
    assert first == again
    assert not list(tmp_path.glob(".*.partial"))
