"""What keeps registry-sized runs lean: grouped steps in one process, listings capped in
the results file, resampling analyses that say why they did not run on a large cohort."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.__main__ import main
from analysis.render.grid import to_grid
from analysis.sensitivity import MAX_ROWS, run_analysis

ROOT = Path(__file__).resolve().parents[1]
STUDY = str(ROOT / "studies" / "baclofen_ckd.yaml")


@pytest.fixture(scope="module")
def cohort_file(cohort, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scale") / "cohort.parquet"
    cohort.to_parquet(path)
    return path


def _result(cohort_file: Path, output_id: str, out: Path) -> list[str]:
    return ["result", str(cohort_file), "--study", STUDY, "--id", output_id, "--out", str(out)]


def test_batch_writes_what_the_separate_steps_write(cohort_file, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for oid in ("table1", "table4"):
        assert main(_result(cohort_file, oid, one / f"{oid}.json")) == 0
    steps = [_result(cohort_file, oid, two / f"{oid}.json") for oid in ("table1", "table4")]
    assert main(["batch", json.dumps(steps)]) == 0
    for oid in ("table1", "table4"):
        assert (one / f"{oid}.json").read_bytes() == (two / f"{oid}.json").read_bytes()


def test_batch_stops_at_the_first_failing_step(cohort_file, tmp_path, capsys):
    steps = [
        _result(cohort_file, "no_such_table", tmp_path / "a.json"),
        _result(cohort_file, "table1", tmp_path / "b.json"),
    ]
    assert main(["batch", json.dumps(steps)]) == 2
    assert not (tmp_path / "b.json").exists()
    assert "no_such_table" in capsys.readouterr().err


def test_batch_refuses_to_nest_and_what_is_not_a_list_of_steps(capsys):
    assert main(["batch", json.dumps([["batch", "[]"]])]) == 2
    assert "cannot be a step of a batch" in capsys.readouterr().err
    for bad in ("result c.parquet", '["result"]', "[[]]", "[[1]]"):
        assert main(["batch", bad]) == 2
        assert "error: batch:" in capsys.readouterr().err


def test_a_capped_listing_still_counts_every_case(cohort_file, tmp_path):
    full, capped = tmp_path / "full.json", tmp_path / "capped.json"
    base = ["result", str(cohort_file), "--study", STUDY, "--id", "table5"]
    assert main([*base, "--out", str(full)]) == 0
    assert main([*base, "--out", str(capped), "--listing-max-rows", "5"]) == 0
    whole, first = json.loads(full.read_text()), json.loads(capped.read_text())
    assert whole["n"] == first["n"] == len(whole["rows"]) > 5
    assert first["rows"] == whole["rows"][:5] and first["rows_capped_at"] == 5
    # rendered from either file, the same five rows and the same note of what is left out
    for shown in (to_grid(whole, listing_max_rows=5), to_grid(first, listing_max_rows=5)):
        assert len(shown.rows) == 5 and shown.rows_not_shown == whole["n"] - 5


def test_a_resampling_analysis_above_its_limit_says_why(cohort, study):
    entry = next(e for e in study.sensitivity if e["analysis"] == "bootstrap")
    out = run_analysis({**entry, "max_rows": 100}, cohort, study)
    assert out["not_run"].startswith(f"the cohort's {len(cohort):,} rows are more than the 100")
    assert out["conclusion"]["holds"] is None and out["id"] == entry.get("id", "bootstrap")
    # the default limits leave the study's own 401 patients well inside
    assert all(limit >= 10 * len(cohort) for limit, _ in MAX_ROWS.values())
