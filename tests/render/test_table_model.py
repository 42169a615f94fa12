"""The one table model: number styles, typesetting, the tidy CSV, the manuscript files.

Expected strings are written out by hand from the style guides and the results JSON,
never produced by the code under test.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import docx
import openpyxl
import pytest

from analysis.errors import StudyFileError
from analysis.render.grid import SUPPRESSED, to_grid
from analysis.render.manuscript import write_manuscript
from analysis.render.number_style import preset, resolve_style
from analysis.render.typeset import superscript, typeset
from analysis.render.writers import to_csv, to_html, to_markdown
from analysis.results import write_json

# p, then how each style prints it (AMA Manual of Style 11th ed. 19.5; The Lancet's
# formatting guidelines for p values; the paper prints 3 decimals and "<0.001").
P_STYLES = [
    (0.00003, "<0.001", "<.001", "<0·0001"),
    (0.0004, "<0.001", "<.001", "0·00040"),
    (0.0034, "0.003", ".003", "0·0034"),
    (0.0496, "0.0496", ".0496", "0·0496"),  # never printed as if it reached alpha
    (0.0451, "0.045", ".045", "0·045"),
    (0.2345, "0.234", ".23", "0·23"),
    (0.0996, "0.100", ".10", "0·10"),
    (0.995, "0.995", ">.99", "0·99"),
]


@pytest.mark.parametrize("p,paper,ama,lancet", P_STYLES)
def test_p_values_follow_each_journal_style(p, paper, ama, lancet):
    assert preset("paper").p(p) == paper
    assert preset("ama").p(p) == ama
    assert preset("lancet").p(p) == lancet


def test_lancet_uses_the_mid_line_decimal_point_everywhere():
    assert preset("lancet").number(12.345, 1) == "12·3"
    assert preset("paper").number(-0.04, 1) == "0.0"  # no "-0.0"


def test_study_file_display_changes_a_preset_and_config_overrides_it():
    style = resolve_style({"style": "paper", "p_decimals": 2, "p_floor": 0.01})
    assert style.p(0.005) == "<0.01" and style.p(0.1234) == "0.12"
    assert resolve_style({"p_decimals": 2}, override="lancet").p(0.1234) == "0·12"
    with pytest.raises(StudyFileError, match="not a preset"):
        resolve_style(None, override="nejm")
    with pytest.raises(StudyFileError, match="unknown number-style key 'p_digits'"):
        resolve_style({"p_digits": 2})


@pytest.mark.parametrize(
    "typed,printed",
    [
        ("kg/m2", "kg/m²"),
        ("mL/min/1.73m2", "mL/min/1.73 m²"),
        (">=60", "≥ 60"),
        ("<60", "< 60"),
        ("mean +/- SD", "mean ± SD"),
        ("pCO2", "pCO₂"),
        ("Total CO2", "Total CO₂"),
        ("x>=y", "x>=y"),  # not before a number: left alone
        ("room m2x", "room m2x"),
    ],
)
def test_labels_are_typeset(typed, printed):
    assert typeset(typed) == printed


def test_superscript_letters():
    assert superscript("abc") == "ᵃᵇᶜ"
    assert superscript("q") == "q"  # Unicode has no superscript q


def test_grid_numbers_titles_and_typesets_labels(results):
    grid = to_grid(results["table2"])
    assert grid.caption.startswith("Table 2. Characteristics")
    labels = [row[0] for row in grid.rows]
    assert "Body-mass index (kg/m²), mean ± SD" in labels
    assert any(label.startswith("MDRD eGFR (mL/min/1.73 m²)") for label in labels)
    assert any(label.startswith("Total CO₂ (mmol/L), ") for label in labels)
    assert all("kg/m2" not in text for text in to_markdown(grid).splitlines())
    assert to_grid(results["table3"]).header[1].startswith("< 60")
    assert to_grid(results["table3"]).header[2].startswith("≥ 60")
    assert to_grid(results["table4"]).caption.startswith("Table 4. ")


def test_ranges_and_intervals_use_an_en_dash(results):
    grid = to_grid(results["table7"])
    row = next(r for r in grid.rows if r[0].startswith("Daily dose"))
    stats = results["table7"]["rows"][0]["stats"]["1"]
    assert row[1] == f"{stats['median']:.1f} ({stats['min']:.1f}–{stats['max']:.1f})"
    model = to_grid(results["table4"])
    term = next(t for t in results["table4"]["terms"] if t["term"] == "albumin")
    albumin = next(r for r in model.rows if r[0].startswith("Serum albumin"))
    assert albumin[3] == (f"{term['odds_ratio']:.3f} ({term['ci_low']:.3f}–{term['ci_high']:.3f})")


def test_a_missing_p_says_why():
    result = {
        "table": "t", "title": "T", "group_by": "g", "kind": "summary",
        "groups": [{"key": "1", "label": "A", "n": 3}, {"key": "2", "label": "B", "n": 0}],
        "rows": [{"variable": "x", "label": "X", "kind": "continuous", "summary": "mean_sd",
                  "decimals": 1, "test": "none", "p_value": None,
                  "test_reason": "fewer than two groups with data",
                  "stats": {"1": {"n": 3, "mean": 1.0, "sd": 0.5, "missing": 0},
                            "2": {"n": 0, "missing": 0}}}],
    }  # fmt: skip
    grid = to_grid(result)
    p_cell = grid.rows[0][-1]
    assert p_cell == "–" and p_cell.mark
    assert f"{p_cell.mark} – no p-value: fewer than two groups with data." in grid.footnotes


def test_tidy_csv_keeps_numbers_and_letters_apart(results):
    grid = to_grid(results["table2"])
    lines = list(csv.DictReader(io.StringIO(to_csv(grid))))
    source = {r["variable"]: r for r in results["table2"]["rows"]}
    # every p is a number in `value`, its letter in `footnote`, never in the number
    p_lines = [line for line in lines if line["statistic"] == "p"]
    assert len(p_lines) == len({r["variable"] for r in results["table2"]["rows"]})
    for line in p_lines:
        float(line["value"])
        assert line["footnote"].isalpha() and line["footnote"] not in line["text"]
    albumin = source["albumin"]
    (p_line,) = [x for x in p_lines if x["label"].startswith("Serum albumin")]
    assert math.isclose(float(p_line["value"]), max(round(albumin["p_value"], 3), 0.001))
    centre = "mean" if albumin["summary"] == "mean_sd" else "median"
    shown = [x for x in lines if x["label"].startswith("Serum albumin") and
             x["statistic"] == centre and x["column"].startswith("Yes")]  # fmt: skip
    assert float(shown[0]["value"]) == round(albumin["stats"]["1"][centre], 2)
    notes = [x["text"] for x in lines if x["statistic"] == "note"]
    assert notes == grid.footnotes
    assert {x["title"] for x in lines} == {grid.caption}
    n_lines = [x for x in lines if x["row"] == "0"]
    assert [int(x["value"]) for x in n_lines] == [g["n"] for g in results["table2"]["groups"]]


def test_marks_are_superscripts_in_html_and_markdown(results):
    grid = to_grid(results["table2"])
    html = to_html(grid, standalone=False)
    assert '<sup class="mark">a</sup>' in html
    assert "ᵃ" in to_markdown(grid) and " a |" not in to_markdown(grid)


def test_suppressed_and_withheld_cells_print_the_same_mark():
    stats = {"n": 4, "count": None, "percent": None, "missing": 0,
             "disclosure": {"count": "suppressed", "percent": "suppressed"}}  # fmt: skip
    result = {
        "table": "t", "title": "T", "group_by": None, "kind": "summary",
        "groups": [{"key": "all", "label": "All", "n": 4}],
        "rows": [{"variable": "x", "label": "X", "kind": "binary", "summary": "n_pct",
                  "decimals": 1, "test": "none", "p_value": None, "shown": True,
                  "stats": {"all": stats}}],
        "disclosure": {"profile": "threshold", "description": "counts below 10."},
    }  # fmt: skip
    grid = to_grid(result)
    assert grid.rows[0][1] == SUPPRESSED
    assert any(note.startswith(f"{SUPPRESSED} withheld by disclosure control") for note in
               grid.footnotes)  # fmt: skip
    withheld = to_grid({**result, "withheld": "listings of single patients never leave"})
    assert withheld.withheld and "Withheld: listings" in to_markdown(withheld)


def test_manuscript_files_hold_every_table_in_the_papers_order(results, study, tmp_path):
    paths = []
    for output_id, result in results.items():
        paths.append(tmp_path / f"{output_id}.json")
        write_json(result, paths[-1])
    out = {"docx": tmp_path / "tables.docx", "xlsx": tmp_path / "tables.xlsx"}
    write_manuscript(study, list(reversed(paths)), out)
    document = docx.Document(str(out["docx"]))
    titles = [p.text for p in document.paragraphs if p.text.startswith("Table ")]
    assert [t.split(".")[0] for t in titles] == [f"Table {k}" for k in range(1, 8)]
    workbook = openpyxl.load_workbook(out["xlsx"])
    assert workbook.sheetnames == [f"Table {k}" for k in range(1, 8)]
    assert Path(out["xlsx"]).read_bytes() == _again(study, paths, tmp_path)


def _again(study, paths, tmp_path: Path) -> bytes:
    again = tmp_path / "again.xlsx"
    write_manuscript(study, paths, {"xlsx": again})
    return again.read_bytes()


def test_a_model_without_crude_fits_has_no_crude_columns(results):
    adjusted_only = {**results["table4"], "crude": {}}  # what `crude: false` writes
    grid = to_grid(adjusted_only)
    assert grid.header == ["Variable", "Adjusted OR (95% CI)", "p"]
    assert all(len(row) == 3 for row in grid.rows)
    assert "Crude OR (95% CI)" in to_grid(results["table4"]).header


def test_a_unit_in_the_plural_reads_per_1_year():
    from analysis.derive import derive_cohort
    from analysis.inputs import load_input
    from analysis.models import build_model
    from analysis.study import load_study

    root = Path(__file__).resolve().parents[2] / "studies" / "examples" / "birthwt"
    study = load_study(root / "birthwt.yaml")
    cohort = derive_cohort(load_input(str(root / "birthwt.csv"), study), study)[0]
    model = build_model(cohort, study, study.models[0]["id"])
    assert model["term_labels"]["age"] == "Mother's age (per 1 year)"
