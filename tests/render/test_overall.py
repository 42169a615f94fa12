"""`overall: true`: the Overall column, computed on every patient of the table, shown
first in every format, and withheld under disclosure control."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from analysis.disclosure import apply_to_result, load_profile
from analysis.render.grid import to_grid
from analysis.study import load_study
from analysis.tables import build_table

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def with_overall(tmp_path_factory):
    """The baclofen study with `overall: true` on Table 1."""
    folder = tmp_path_factory.mktemp("overall")
    raw = yaml.safe_load((ROOT / "studies" / "baclofen_ckd.yaml").read_text("utf-8"))
    for table in raw["tables"]:
        if table["id"] == "table1":
            table["overall"] = True
    (folder / "study.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    shutil.copy(ROOT / "studies" / "baclofen_ckd.published.yaml", folder)
    return load_study(folder / "study.yaml")


@pytest.fixture(scope="module")
def table1(with_overall, cohort):
    return build_table(cohort, with_overall, "table1")


def test_overall_statistics_are_those_of_every_patient_of_the_table(with_overall, cohort, table1):
    # By hand with pandas: the patients the table covers, groups ignored.
    data = cohort.loc[cohort["ckd_group"].notna()]
    checked = 0
    for row in table1["rows"]:
        var = with_overall.variables[row["variable"]]
        if var.only_if:
            continue
        overall = row["stats"]["overall"]
        values = data[var.name]
        if row["kind"] == "continuous":
            assert overall["n"] == values.notna().sum()
            assert overall["mean"] == pytest.approx(values.mean(), rel=1e-12)
            assert overall["sd"] == pytest.approx(values.std(ddof=1), rel=1e-12)
            assert overall["median"] == pytest.approx(values.median(), rel=1e-12)
        else:
            count = int((values == float(row["level"])).sum())  # codes are numbers here
            assert overall["count"] == count
            assert overall["percent"] == pytest.approx(100 * count / values.notna().sum())
        checked += 1
    assert checked >= 10


def test_the_overall_column_comes_first_with_the_tables_n(cohort, table1):
    grid = to_grid(table1)
    n = int(cohort["ckd_group"].notna().sum())  # the patients the table covers
    assert grid.header[1] == f"Overall (n = {n})"
    assert len(grid.header) == 2 + len(table1["groups"]) + 1  # label, overall, groups, p
    male = next(r for r in table1["rows"] if r["variable"] == "sex" and float(r["level"]) == 1)
    overall = male["stats"]["overall"]
    line = next(row for row in grid.rows if str(row[0]) == male["level_label"])
    assert str(line[1]) == f"{overall['count']} ({overall['percent']:.1f})"


def test_without_overall_there_is_no_overall_column(results):
    assert not any("Overall" in h for h in to_grid(results["table1"]).header)


def test_disclosure_control_withholds_the_overall_column_and_says_so(table1):
    protected = apply_to_result(table1, load_profile("threshold"))
    assert not any("overall" in row["stats"] for row in protected["rows"])
    assert not any("Overall" in h for h in to_grid(protected).header)
    actions = protected["disclosure"]["actions"]
    assert any(a["what"] == "Overall column withheld" for a in actions)
    assert "overall" in table1["rows"][0]["stats"]  # the input is unchanged
