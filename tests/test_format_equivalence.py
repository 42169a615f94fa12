"""The same cohort exported to every common format gives the same tables as Parquet.

The synthetic cohort is written as .sav (with labels), .dta, .xlsx, .xpt and a
CP949 CSV with Korean headers (read through a mapping file); each goes through
the ``tables`` verb and must render the same tables, and give the same numbers
to 1e-9 (SAS transport files store IBM floating point, which can change the
last bits of a double).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pyreadstat
import pytest
import yaml

from analysis.export import write_cohort
from analysis.study import load_study
from analysis.synth.generator import generate

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "baclofen_ckd.yaml"
KOREAN = {
    "patient_id": "환자번호",
    "sex": "성별",
    "age": "나이",
    "albumin": "알부민",
    "creatinine": "크레아티닌",
    "neurotoxicity": "신경독성",
    "diabetic_nephropathy": "당뇨병성신증",
    "total_dose": "총용량",
}


def _tables(data: Path, out: Path, *extra: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "tables", str(data), "--out", str(out), *extra],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def _close(a, b, where: str = "") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    study = load_study(STUDY)
    frame = generate(401)
    write_cohort([frame], folder / "cohort.parquet", study)
    write_cohort([frame], folder / "cohort.sav", study)
    write_cohort([frame], folder / "cohort.dta", study)
    frame.to_excel(folder / "cohort.xlsx", index=False, sheet_name="cohort")
    pyreadstat.write_xport(frame, str(folder / "cohort.xpt"), table_name="COHORT")
    frame.rename(columns=KOREAN).to_csv(folder / "cohort_ko.csv", index=False, encoding="cp949")
    mapping = {"rename": {ko: name for name, ko in KOREAN.items()}}
    (folder / "mapping_ko.yaml").write_text(
        yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8"
    )
    reference = folder / "out_parquet"
    _tables(folder / "cohort.parquet", reference)
    return folder, reference


CASES = {
    "sav": ("cohort.sav", []),
    "dta": ("cohort.dta", []),
    "xlsx": ("cohort.xlsx", []),
    "xpt": ("cohort.xpt", []),
    "cp949_korean_csv": ("cohort_ko.csv", ["--mapping", "mapping_ko.yaml"]),
}


@pytest.mark.parametrize("fmt", list(CASES))
def test_same_tables_as_parquet(exports, fmt):
    folder, reference = exports
    name, extra = CASES[fmt]
    extra = [str(folder / e) if e.endswith(".yaml") else e for e in extra]
    out = folder / f"out_{fmt}"
    _tables(folder / name, out, *extra)
    for ref in sorted(reference.glob("*.json")):
        _close(json.loads(ref.read_text()), json.loads((out / ref.name).read_text()), ref.name)
    for ref in sorted(reference.glob("*.md")):
        assert (out / ref.name).read_text() == ref.read_text(), f"{fmt}: {ref.name}"
