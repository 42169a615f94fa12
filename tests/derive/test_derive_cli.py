"""The new derivation kinds end to end through ``python -m analysis tables``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]

STUDY = """\
study: {id: derive_demo, title: New derivation kinds}
variables:
  - {name: pid, label: Patient, type: id}
  - {name: dob, label: Date of birth, type: date, identifier: true}
  - name: status
    label: Status at the end of follow-up
    type: categorical
    codes: {0: censored, 1: transplant, 2: dead}
  - name: dead
    label: Died
    type: binary
    codes: {0: "No", 1: "Yes"}
    derive: {kind: expression, expr: "status == 2"}
  - {name: weight, label: Weight, type: continuous, unit: kg, range: [30, 200]}
  - {name: height, label: Height, type: continuous, unit: cm, range: [120, 220]}
  - name: bmi2
    label: Body-mass index
    type: continuous
    unit: kg/m2
    range: [10, 60]
    derive: {kind: expression, expr: "weight / (height / 100) ** 2"}
  - {name: hd, label: Haemodialysis, type: binary, codes: {0: "No", 1: "Yes"}}
  - {name: pd, label: Peritoneal dialysis, type: binary, codes: {0: "No", 1: "Yes"}}
  - name: modality
    label: Dialysis modality
    type: categorical
    codes: {0: none, 1: HD, 2: PD}
    derive:
      kind: combine
      cases:
        - {when: "hd == 1", value: 1}
        - {when: "pd == 1", value: 2}
      otherwise: 0
  - name: age
    label: Age on 31 December 2019
    type: continuous
    unit: years
    range: [18, 110]
    derive: {kind: age_at, birth: dob, date: "2019-12-31"}
  - {name: crp_raw, label: CRP as reported, type: text}
  - name: crp
    label: C-reactive protein
    type: continuous
    unit: mg/dL
    range: [0, 600]
    derive: {kind: censored, source: crp_raw, below: half_limit, above: limit}
tables:
  - id: by_modality
    title: By dialysis modality
    group_by: modality
    policy: descriptive
    rows: [age, bmi2, crp, dead]
"""

# By hand: ages on 2019-12-31, BMI = weight / (height/100)^2, modality from the flags.
ROWS = [
    # pid, dob, status, weight, height, hd, pd, crp_raw
    (1, "1950-06-15", 2, 70, 175, 1, 0, "<0.1"),  # 69, HD
    (2, "1960-12-31", 0, 80, 160, 1, 0, "5"),  # 59, HD
    (3, "1940-02-29", 1, 60, 150, 0, 1, ">500"),  # 79, PD
    (4, "1970-01-01", 2, 90, 180, 0, 1, "12.5"),  # 49, PD
    (5, "1955-07-01", 0, 65, 170, 0, 0, "3"),  # 64, none
    (6, "1980-03-03", 0, 75, 165, 0, 0, "<0.1"),  # 39, none
    (7, "1945-05-05", 2, 55, 155, 1, 1, "1"),  # 74, HD (both flags: first case)
    (8, "1965-10-10", 0, 85, 178, None, 0, "2"),  # 54, modality missing (HD unknown)
]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_tables_verb_runs_the_new_kinds(tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text(STUDY, encoding="utf-8")
    data = tmp_path / "data.csv"
    columns = ["pid", "dob", "status", "weight", "height", "hd", "pd", "crp_raw"]
    pd.DataFrame(ROWS, columns=columns).to_csv(data, index=False)
    out = tmp_path / "out"
    done = run("tables", str(data), "--study", str(study), "--out", str(out))
    assert done.returncode == 0, done.stderr

    flow = json.loads((out / "flow.json").read_text(encoding="utf-8"))
    assert {
        "column": "modality",
        "reason": "hd or pd missing before any case was true (derived value missing)",
        "count": 1,
        "first_row": 8,
    } in flow["made_missing"]
    assert flow["substituted"] == [
        {
            "column": "modality",
            "reason": "matched case 1 (hd == 1) and a later case: case 1's value 1 (HD) used",
            "count": 1,
            "first_row": 7,
        },
        {
            "column": "crp",
            "reason": "crp_raw <0.1: 0.05 used (half the limit)",
            "count": 2,
            "first_row": 1,
        },
        {
            "column": "crp",
            "reason": "crp_raw >500: 500 used (the limit)",
            "count": 1,
            "first_row": 3,
        },
    ]

    result = json.loads((out / "by_modality.json").read_text(encoding="utf-8"))
    text = json.dumps(result)
    assert "1950-06-15" not in text and "1940-02-29" not in text  # no date of birth leaves
    assert [g["n"] for g in result["groups"]] == [2, 3, 2]  # none, HD, PD; row 8 missing
    stats = {(r["variable"], r["level"]): r["stats"] for r in result["rows"]}

    def per_group(variable: str, level: str | None, key: str) -> list[float]:
        return [round(stats[(variable, level)][g][key], 3) for g in ("0", "1", "2")]

    # none: ages 64, 39; HD: 69, 59, 74; PD: 79, 49
    assert per_group("age", None, "mean") == [51.5, 67.333, 64.0]
    # none: 65/1.7^2 = 22.491, 75/1.65^2 = 27.548; HD: 70/1.75^2 = 22.857, 80/1.6^2 = 31.25,
    # 55/1.55^2 = 22.893; PD: 60/1.5^2 = 26.667, 90/1.8^2 = 27.778
    assert per_group("bmi2", None, "median") == [25.020, 22.893, 27.222]
    # none: 3 and <0.1 -> 0.05; HD: 0.05, 5, 1; PD: >500 -> 500 and 12.5
    assert per_group("crp", None, "min") == [0.05, 0.05, 12.5]
    assert per_group("crp", None, "max") == [3.0, 5.0, 500.0]
    # status 2 -> dead: none 0 of 2, HD 2 of 3 (rows 1, 7), PD 1 of 2 (row 4)
    assert per_group("dead", "1", "count") == [0, 2, 1]

    # the report lists the substitutions beside the values made missing
    from analysis.report import write_report
    from analysis.study import load_study

    html, md, _ = write_report(
        load_study(study),
        [out / "by_modality.json"],
        out / "flow.json",
        [],
        tmp_path / "report" / "report.html",
        "toy data",
    )
    assert "Values substituted during derivation" in html.read_text(encoding="utf-8")
    assert "| crp | crp_raw &lt;0.1: 0.05 used (half the limit) | 2 |" in md.read_text(
        encoding="utf-8"
    )


def test_a_bad_expression_stops_the_cli_with_one_line(tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text(
        STUDY.replace('"status == 2"', "\"__import__('os').system('touch X')\""), encoding="utf-8"
    )
    data = tmp_path / "data.csv"
    data.write_text("pid\n1\n", encoding="utf-8")
    done = run("tables", str(data), "--study", str(study), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert "variables.dead.derive.expr:" in done.stderr
    assert "at position 11: unexpected '(': function calls are not allowed" in done.stderr
    assert not (ROOT / "X").exists() and not (tmp_path / "X").exists()


def test_validate_reports_a_derived_age_without_the_date_of_birth(tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text(STUDY, encoding="utf-8")
    data = tmp_path / "data.csv"
    rows = [*ROWS[:-1], (8, "2021-04-01", 0, 85, 178, 0, 0, "2")]  # born after 2019-12-31
    columns = ["pid", "dob", "status", "weight", "height", "hd", "pd", "crp_raw"]
    pd.DataFrame(rows, columns=columns).to_csv(data, index=False)
    done = run("validate", str(data), "--study", str(study))
    assert done.returncode == 2
    assert (
        f"error: {data}, column 'age', row 8, value -2.0: derived age -2 from dob (identifier, "
        "not shown) is outside the plausible range 18-110 years [derived_range]"
    ) in done.stdout
    assert "2021-04-01" not in done.stdout + done.stderr
