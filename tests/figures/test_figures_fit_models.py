"""`figures --fit-models` (the grouped workflow) draws what `figures --results` draws
from the result step's file, byte for byte: the figures job need not wait for the tables."""

from __future__ import annotations

from pathlib import Path

from analysis.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
STUDY = str(ROOT / "studies" / "baclofen_ckd.yaml")


def test_fitted_models_draw_the_figures_the_results_file_draws(tmp_path):
    data, cohort, flow = tmp_path / "data.parquet", tmp_path / "cohort.parquet", tmp_path / "f.json"
    model = tmp_path / "table4.json"
    assert main(["synth", "--n", "401", "--study", STUDY, "--out", str(data)]) == 0
    assert main(["derive", str(data), "--study", STUDY, "--out", str(cohort),
                 "--flow", str(flow)]) == 0  # fmt: skip
    assert (
        main(["result", str(cohort), "--study", STUDY, "--id", "table4", "--out", str(model)]) == 0
    )
    common = [str(cohort), "--study", STUDY, "--flow", str(flow)]
    from_file, fitted = tmp_path / "from_file", tmp_path / "fitted"
    assert main(["figures", *common, "--results", str(model), "--out-dir", str(from_file)]) == 0
    assert main(["figures", *common, "--fit-models", "--out-dir", str(fitted)]) == 0
    names = sorted(p.name for p in from_file.iterdir())
    assert any("table4" in n for n in names)
    assert names == sorted(p.name for p in fitted.iterdir())
    for name in names:
        assert (from_file / name).read_bytes() == (fitted / name).read_bytes(), name


def test_without_either_a_model_figure_says_what_it_needs(tmp_path, capsys):
    data, cohort = tmp_path / "data.parquet", tmp_path / "cohort.parquet"
    assert main(["synth", "--n", "120", "--study", STUDY, "--out", str(data)]) == 0
    assert main(["derive", str(data), "--study", STUDY, "--out", str(cohort)]) == 0
    status = main(["figures", str(cohort), "--study", STUDY, "--out-dir", str(tmp_path / "f")])
    assert status == 2
    assert "--results" in capsys.readouterr().err
