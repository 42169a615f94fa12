"""Where outputs may go: never onto a device, a folder or another output; a set is whole.

Cases from a hostile run of the command line: ``--json-out /dev/full`` replaced the
device with a regular file and reported success; ``derive --out X --flow X`` left the
flow JSON where the cohort should be; a full disk half-way through ``tables`` left
some tables of the new run beside none of the others; ``inf`` in a model predictor
ended in "unexpected LinAlgError".
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.__main__ import main
from analysis.errors import AnalysisError
from analysis.export import all_or_nothing, atomic_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site_csv(tmp_path_factory) -> Path:
    from analysis.synth.generator import generate

    path = tmp_path_factory.mktemp("site") / "site.csv"
    generate(120, seed=3).to_csv(path, index=False)
    return path


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_a_fifo_is_never_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(AnalysisError, match="not a regular file"):
        with atomic_path(fifo) as tmp:
            tmp.write_text("x")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.skipif(not Path("/dev/null").is_char_device(), reason="needs /dev/null")
def test_validate_refuses_a_device_as_json_out(site_csv):
    before = os.stat("/dev/null")
    done = _cli("validate", str(site_csv), "--json-out", "/dev/null")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: /dev/null: is not a regular file (a device or a pipe); give a file"
    )
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_a_folder_as_output_file_names_the_folder_not_a_temporary(site_csv, tmp_path):
    done = _cli("validate", str(site_csv), "--json-out", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {tmp_path}: is a folder; give a file name"


def test_two_outputs_on_one_file_are_refused_before_writing(site_csv, tmp_path):
    same = tmp_path / "same.parquet"
    done = _cli("derive", str(site_csv), "--out", str(same), "--flow", str(same))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: --flow {same}: is also --out {same}; one file cannot hold both"
    )
    assert not same.exists()


def test_a_failed_set_leaves_none_of_its_files(tmp_path):
    written = [tmp_path / "a.json", tmp_path / "b.json"]
    (tmp_path / "a.json").write_text("old run")
    with pytest.raises(OSError):
        with all_or_nothing(written):
            written[0].write_text("new run")
            raise OSError(28, "No space left on device")
    assert not any(p.exists() for p in written)


def test_tables_failing_half_way_leaves_no_partial_set(site_csv, tmp_path, monkeypatch, capsys):
    import analysis.render.writers as writers

    calls = []
    real = writers.render_result

    def fail_on_third(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(args[1]) + ".md")
        return real(*args, **kwargs)

    monkeypatch.setattr(writers, "render_result", fail_on_third)
    out = tmp_path / "tables"
    status = main(["tables", str(site_csv), "--out", str(out)])
    assert status == 2
    assert "No space left on device" in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_an_infinite_value_is_a_validation_error_not_a_crash(tmp_path):
    from analysis.synth.generator import generate

    frame = generate(120, seed=3).astype(object)
    frame.loc[4, "albumin"] = "inf"
    frame.loc[9, "creatinine"] = "-1e400"
    data = tmp_path / "inf.csv"
    frame.to_csv(data, index=False)
    done = _cli("validate", str(data))
    assert done.returncode == 2, done.stderr
    assert "unexpected" not in done.stderr + done.stdout
    lines = [line for line in done.stdout.splitlines() if "[finite]" in line]
    assert len(lines) == 2
    assert "column 'albumin', row 5" in lines[1] + lines[0]
    assert "column 'creatinine', row 10" in lines[1] + lines[0]
    tables = _cli("tables", str(data), "--out", str(tmp_path / "out"))
    assert tables.returncode == 2
    assert "unexpected" not in tables.stderr
