"""The command line: help, one-line errors, exit codes, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], cwd=cwd, capture_output=True, text=True
    )


def test_synth_help_documents_the_generator():
    out = run("synth", "--help")
    assert out.returncode == 0
    for text in ("--n", "--seed", "--out", ".sav", "published count", "parameters file"):
        assert text in out.stdout


def test_every_verb_has_help():
    for verb in ("synth", "validate", "derive", "tables", "result", "render", "figures", "report"):
        assert run(verb, "--help").returncode == 0, verb


def test_synth_then_validate(tmp_path):
    out = tmp_path / "c.csv"
    assert run("synth", "--n", "50", "--seed", "1", "--out", str(out)).returncode == 0
    checked = run("validate", str(out))
    assert checked.returncode == 0
    assert "50 rows checked: 0 error(s)" in checked.stdout
    # without --study, the line says which study file the data were checked against
    assert "(study file studies/baclofen_ckd.yaml)" in checked.stdout


def test_bad_study_file_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "study.yaml"
    bad.write_text("study: {id: x, title: y}\nvariables: []\ntables: []\n")
    out = run("validate", "whatever.csv", "--study", str(bad))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr
    assert str(bad) in out.stderr


def test_invalid_data_lists_file_column_row_value(tmp_path):
    from analysis.synth.generator import generate

    frame = generate(30, seed=2)
    frame.loc[4, "albumin"] = 38.0  # g/L instead of g/dL
    frame.loc[7, "sex"] = 3
    path = tmp_path / "site.csv"
    frame.to_csv(path, index=False)
    before = path.read_bytes()
    out = run("validate", str(path))
    assert out.returncode == 2
    assert f"{path}, column 'albumin', row 5, value 38.0: outside the plausible range" in out.stdout
    assert f"{path}, column 'sex', row 8, value 3: not an allowed code" in out.stdout
    assert path.read_bytes() == before


def test_missing_file_is_a_clear_error(tmp_path):
    out = run("validate", str(tmp_path / "nope.csv"))
    assert out.returncode == 2
    assert out.stderr.strip() == f"error: {tmp_path / 'nope.csv'}: file not found"


def test_a_python_without_the_packages_says_which_to_use(tmp_path, monkeypatch, capsys):
    """`python -m analysis` from a Python that is not the project's: one line saying so."""
    import analysis.__main__ as cli

    def lacks_pandas(args):
        raise ModuleNotFoundError("No module named 'pandas'", name="pandas")

    monkeypatch.setattr(cli, "cmd_validate", lacks_pandas)
    assert cli.main(["validate", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: No module named 'pandas': this Python lacks the project's packages; "
        "run .venv/bin/python -m analysis (make setup creates .venv)"
    )


def test_tables_verb_writes_results_and_renderings(tmp_path):
    data = tmp_path / "c.parquet"
    run("synth", "--out", str(data))
    out = run("tables", str(data), "--out", str(tmp_path / "out"), "--only", "table2", "table4")
    assert out.returncode == 0, out.stderr
    for stem in ("table2", "table4"):
        for ext in ("json", "md", "csv", "html"):
            assert (tmp_path / "out" / f"{stem}.{ext}").exists()
    # the synthetic input carries patient IDs; no output may
    ids = pd.read_parquet(data)["patient_id"].head(50).tolist()
    for path in (tmp_path / "out").iterdir():
        text = path.read_text(encoding="utf-8")
        assert not any(i in text for i in ids), path.name


def test_derive_reuses_a_validation_only_for_the_same_input(tmp_path):
    data = tmp_path / "c.csv"
    report = tmp_path / "validation.json"
    assert run("synth", "--n", "40", "--seed", "3", "--out", str(data)).returncode == 0
    assert run("validate", str(data), "--json-out", str(report)).returncode == 0
    ok = run("derive", str(data), "--validated", str(report), "--out", str(tmp_path / "a.parquet"))
    assert ok.returncode == 0, ok.stderr
    # the file changes after validation: the old report is not trusted
    frame = pd.read_csv(data)
    frame.loc[2, "sex"] = 7
    frame.to_csv(data, index=False)
    stale = run(
        "derive", str(data), "--validated", str(report), "--out", str(tmp_path / "b.parquet")
    )
    assert stale.returncode == 2
    assert "column 'sex', row 3, value 7" in stale.stderr
    assert not (tmp_path / "b.parquet").exists()
