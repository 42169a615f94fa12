"""studies/baclofen_ckd.published.yaml: every figure of paper.md, and what it refers to
exists in the study file; the loader's errors name the file, the entry and the key."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml

from analysis.errors import StudyFileError
from analysis.published import COHORT, load_published, published_entries
from analysis.study import Study

ROOT = Path(__file__).resolve().parents[2]
FILE = ROOT / "studies" / "baclofen_ckd.published.yaml"


def _raw_entries() -> list[dict]:
    return yaml.safe_load(FILE.read_text(encoding="utf-8"))["entries"]


def test_the_study_file_points_at_the_published_file(study):
    assert study.raw["published"] == {"file": FILE.name}
    assert len(study.published) == len(_raw_entries())


def test_every_entry_resolves_against_the_study_file(study):
    tables = {t["id"]: t for t in study.tables}
    models = {m["id"]: m for m in study.models}
    for e in study.published:
        where = f"entry {e['index']} ({e['source']})"
        assert e["table"] in tables or e["table"] in models or e["table"] == COHORT, where
        if e["variable"] is None:
            assert (e["table"], e["kind"]) == (COHORT, "count"), where
            continue
        var = study.variables[e["variable"]]
        if e["table"] in tables:
            assert e["variable"] in tables[e["table"]]["rows"], where
        if e["table"] in models:
            assert e["variable"] in models[e["table"]]["predictors"], where
        if e["level"] is not None:
            assert e["level"] in {str(c) for c in var.codes}, where
        if e["group"] is not None:
            by = study.variables[tables[e["table"]]["group_by"]]
            assert e["group"] in {str(c) for c in by.codes}, where


def _find(study, **key):
    return [e for e in study.published if all(e[k] == v for k, v in key.items())]


def test_the_paper_figures_are_all_there(study):
    (n,) = _find(study, table=COHORT, variable=None)
    assert n["value"] == 401
    groups = {e["level"]: e["value"] for e in _find(study, table=COHORT, variable="ckd_group")}
    assert groups == {"1": 174, "2": 97, "3": 130}
    (pct,) = _find(study, table=COHORT, variable="neurotoxicity", kind="percent")
    assert pct["value"] == 7.0
    # Table 2: every row but the three significant ones is stated not significant
    significant = {"diabetic_nephropathy", "albumin", "total_dose"}
    rows = [r for r in study.table("table2")["rows"] if r not in significant]
    stated = {e["variable"] for e in _find(study, table="table2", kind="significance")}
    assert stated == set(rows)
    assert {e["variable"] for e in _find(study, table="table2", kind="p_value")} == significant
    assert len(_find(study, table="table3", kind="significance")) == 4
    # Tables 5-7
    (onset,) = _find(study, variable="onset_hours", kind="median")
    assert onset["value"] == 39.5
    (crrt,) = _find(study, variable="crrt", kind="count")
    assert crrt["value"] == 1
    daily = _find(study, table="table7", variable="daily_dose", kind="min")
    minima = {e["group"]: e["value"] for e in daily}
    assert minima == {"1": 10.0, "2": 10.0, "3": 5.0}
    (lowest,) = _find(study, table="table7", variable="total_dose", kind="min", group=None)
    assert (lowest["value"], lowest["decimals"]) == (5, 0)
    assert _find(study, table="table4", variable="albumin", kind="p_value")[0]["value"] == 0.007


def _with_entries(tmp_path: Path, base: Study, entries: list[dict], **top) -> Study:
    path = tmp_path / "figures.published.yaml"
    path.write_text(yaml.safe_dump({"study": base.id, "entries": entries, **top}))
    raw = {**copy.deepcopy(base.raw), "published": {"file": path.name}}
    return dataclasses.replace(base, raw=raw, path=tmp_path / "study.yaml")


GOOD = {"table": "table1", "variable": "age", "kind": "significance", "significant": False,
        "source": "Table 1"}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "key", "text"),
    [
        ({"table": "table9"}, "entries[1].table", "'table9' is not a table or model"),
        ({"table": "table5"}, "entries[1].table", "is a listing"),
        ({"variable": "albumen"}, "entries[1].variable", "'albumen' is not a declared"),
        ({"variable": "albumin"}, "entries[1].variable", "not a row of table 'table1'"),
        ({"kind": "count", "value": 3, "significant": None, "variable": "sex", "level": 3},
         "entries[1].level", "3 is not a code of 'sex'"),
        ({"kind": "count", "value": 3, "significant": None, "variable": "sex"},
         "entries[1].level", "needs the level"),
        ({"kind": "median", "value": 3.0, "significant": None, "group": 4},
         "entries[1].group", "4 is not a code of 'ckd_group'"),
        ({"kind": "median", "value": 3.0, "significant": None, "variable": "sex"},
         "entries[1].kind", "'sex' is categorical"),
        ({"kind": "percent", "value": 3.0, "significant": None},
         "entries[1].kind", "'age' is continuous"),
        ({"table": "table4", "variable": "albumin", "kind": "median", "value": 3.0,
          "significant": None}, "entries[1].kind", "a model publishes p-values only"),
        ({"table": "cohort", "variable": None}, "entries[1].variable", "missing"),
        ({"tabel": "table1"}, "entries[1]", "unknown key 'tabel'"),
        ({"kind": "p_value"}, "entries[1]", "'value' is a required property"),
        ({"kind": "mean"}, "entries[1].kind", "'mean' is not one of"),
    ],
)  # fmt: skip
def test_loader_errors_name_file_entry_and_key(tmp_path, study, change, key, text):
    bad = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    broken = _with_entries(tmp_path, study, [GOOD, bad])
    with pytest.raises(StudyFileError) as err:
        _ = broken.published
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'figures.published.yaml'}: {key}"), message
    assert text in message, message


def test_loader_errors_for_the_file_itself(tmp_path, study):
    missing = dataclasses.replace(
        study, raw={**study.raw, "published": {"file": "nowhere.yaml"}}, path=tmp_path / "s.yaml"
    )
    with pytest.raises(StudyFileError, match=r"nowhere\.yaml: cannot read the published"):
        _ = missing.published
    other = _with_entries(tmp_path, study, [GOOD], study="another_study")
    with pytest.raises(StudyFileError, match="'another_study' is not the study of"):
        _ = other.published
    (tmp_path / "bad.yaml").write_text("entries: [\n")
    with pytest.raises(StudyFileError, match=r"bad\.yaml: not valid YAML at line"):
        load_published(tmp_path / "bad.yaml", study)


def test_the_inline_form_is_read_as_entries(study):
    raw = {**study.raw, "published": {
        "counts": {"n": 401, "sex": {1: 355}},
        "p_values": [{"table": "table2", "variable": "albumin", "p": 0.003},
                     {"table": "table3", "variable": "total_dose", "significant": False}],
    }}  # fmt: skip
    entries = published_entries(dataclasses.replace(study, raw=raw))
    assert [(e["table"], e["variable"], e["level"], e["kind"], e["value"]) for e in entries] == [
        ("cohort", None, None, "count", 401),
        ("cohort", "sex", "1", "count", 355),
        ("table2", "albumin", None, "p_value", 0.003),
        ("table3", "total_dose", None, "significance", None),
    ]
    raw["published"]["p_values"].append({"table": "table2", "variable": "albumen", "p": 0.5})
    with pytest.raises(StudyFileError, match=r"published\.entries\[4\]\.variable: 'albumen'"):
        published_entries(dataclasses.replace(study, raw=raw))


def test_no_published_values_no_entries(study):
    raw = {k: v for k, v in study.raw.items() if k != "published"}
    assert dataclasses.replace(study, raw=raw).published == []
