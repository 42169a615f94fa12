"""The report's "Sensitivity analyses": one subsection per analysis, built from the real
outputs of analysis.sensitivity on the default synthetic cohort, each named in the
Methods too, with its conclusion; contents anchors, no raw ids, determinism, report.md,
and disclosure control of the dose table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.disclosure import load_profile
from analysis.results import dumps
from analysis.sensitivity.bootstrap import run_bootstrap
from analysis.sensitivity.calibration import run_calibration
from analysis.sensitivity.dose_table import run_dose_table
from analysis.sensitivity.evalue import run_evalue
from analysis.sensitivity.imputation import run_imputation
from analysis.sensitivity.models import run_models
from analysis.sensitivity.tests_switch import run_tests_switch
from tests.render.test_report import CREATED, build, parse

ORDER = ["tests_switch", "models", "evalue", "bootstrap", "imputation", "calibration",
         "dose_table"]  # fmt: skip


@pytest.fixture(scope="module")
def outputs(cohort, study, results) -> dict[str, dict]:
    """Each sensitivity analysis run once on the default synthetic cohort."""
    return {
        "dose_table": run_dose_table(cohort, study, results),
        "tests_switch": run_tests_switch(cohort, study, results),
        "models": run_models(cohort, study, results),
        "evalue": run_evalue(cohort, study, results),
        "bootstrap": run_bootstrap(cohort, study, resamples=200),
        "imputation": run_imputation(cohort, study),
        "calibration": run_calibration(cohort, study),
    }


@pytest.fixture(scope="module")
def paths(tmp_path_factory, outputs) -> list[Path]:
    """The outputs as the workflow writes them, deliberately not in report order."""
    folder = tmp_path_factory.mktemp("sensitivity")
    out = []
    for name, doc in outputs.items():
        path = folder / f"{name}.json"
        path.write_text(dumps(doc), encoding="utf-8")
        out.append(path)
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory, study, results, paths):
    return build(tmp_path_factory.mktemp("report"), study, results, sensitivity_paths=paths)


@pytest.fixture(scope="module")
def protected(tmp_path_factory, study, results, paths):
    profile = load_profile("threshold")
    html, md = build(tmp_path_factory.mktemp("protected"), study, results,
                     sensitivity_paths=paths, disclosure=profile)  # fmt: skip
    return html, md, profile


def _words(text: str) -> str:
    return " ".join(text.split())


def _conclusion(doc: dict) -> str:
    """The conclusion as a reader sees it: up to its first id-bearing part."""
    return re.split(r"\s*\(|\s+because\s+|:", doc["conclusion"]["text"])[0]


def test_one_subsection_per_analysis_in_order(report, outputs):
    html, _ = report
    page = parse(html)
    assert ("h2", "Sensitivity analyses") in page.headings
    anchors = [f"sensitivity-{name}" for name in ORDER]
    positions = [html.index(f'id="{a}"') for a in anchors]
    assert positions == sorted(positions)
    # after the tables and figures, before the Methods
    assert html.index('id="tables"') < positions[0] < html.index('id="methods"')
    for name, anchor in zip(ORDER, anchors, strict=True):
        section = page.visible(within=anchor)
        assert section, name
        assert "<table" in html[html.index(f'id="{anchor}"') :].split("</section>", 1)[0], name


def test_each_analysis_is_named_in_methods_and_in_its_section(report, outputs):
    html, _ = report
    page = parse(html)
    methods = page.visible(within="methods")
    assert ("h3", "Sensitivity analyses") in page.headings
    for name, doc in outputs.items():
        section = page.visible(within=f"sensitivity-{name}")
        head = _words(doc["method"])[:25]
        assert head in methods, name
        # the section is headed by the analysis's title; the Methods paragraph names it
        assert section.strip().startswith(doc["title"]), name
        assert ("h3", doc["title"]) in page.headings, name
        assert doc["title"] in methods, name


def test_conclusions_are_shown_in_bold(report, outputs):
    html, _ = report
    for name, doc in outputs.items():
        start = html.index(f'id="sensitivity-{name}"')
        section = html[start : html.index("</section>", start)]
        bold = re.findall(r"<strong>(.*?)</strong>", section, re.S)
        assert bold, name
        last = bold[-1].replace("&#39;", "'")
        assert last.startswith(_conclusion(doc)), name
        assert ("still holds" in last) == doc["conclusion"]["holds"] or "does not hold" in last


def test_key_numbers_are_formatted_like_the_tables(report, outputs):
    html, _ = report
    page = parse(html)
    models = page.visible(within="sensitivity-models")
    ml = outputs["models"]["fits"]["ml"]["terms"][0]
    assert f"{ml['odds_ratio']:.3f} ({ml['ci_low']:.3f}–{ml['ci_high']:.3f})" in models
    assert "Events per variable" in models and "below 10" in models
    boot = page.visible(within="sensitivity-bootstrap")
    assert "BCa" in boot and "Percentile" in boot
    assert f"{outputs['bootstrap']['resamples']['requested']} drawn" in boot
    calibration = page.visible(within="sensitivity-calibration")
    hl = outputs["calibration"]["hosmer_lemeshow"]
    assert f"{hl['statistic']:.2f} on {hl['df']} df" in calibration
    assert "c-statistic" in calibration and "Brier" in calibration
    start = html.index('id="sensitivity-calibration"')
    link = re.search(r'href="#(figure-[^"]+)"', html[start : html.index("</section>", start)])
    assert link and link.group(1) in page.ids  # the calibration plot among the figures
    evalue = page.visible(within="sensitivity-evalue")
    assert f"{outputs['evalue']['primary']['evalue_point']:.2f}" in evalue
    assert "OR to RR" in evalue
    imputation = page.visible(within="sensitivity-imputation")
    assert "Values imputed" in imputation and "Fraction of missing information" in imputation
    dose = page.visible(within="sensitivity-dose_table")
    assert "Minimum" in dose and "Maximum" in dose and "7.5" in dose
    switch = page.visible(within="sensitivity-tests_switch")
    assert "Fisher" in switch or "No row changes" in switch


def test_contents_and_checklist_point_at_the_section(report, outputs):
    html, _ = report
    page = parse(html)
    contents = page.visible(within="contents")
    assert "Sensitivity analyses" in contents
    for href in page.hrefs:
        if href.startswith("#"):
            assert href[1:] in page.ids, href
    for name in ORDER:
        assert f'href="#sensitivity-{name}"' in html
    assert 'href="#sensitivity"' in html and 'href="#methods-sensitivity"' in html
    checklist = page.visible(within="checklist")
    row = re.search(r"STROBE 12e Sensitivity analyses (.*?) STROBE 13a", checklist)
    assert row and "Sensitivity analyses" in row.group(1) and "for the authors" not in row.group(1)


def test_no_raw_ids_in_visible_text(report, study):
    html, md = report
    text = " ".join(
        parse(html).visible(within=anchor)
        for anchor in ["sensitivity", "methods-sensitivity", "methods", "contents"]
    )
    raw = set(study.output_ids()) | {n for n in study.variables if "_" in n}
    raw |= {"adjusted_ml", "adjusted_firth", "tests_switch", "dose_table"}
    for name in sorted(raw):
        assert re.search(rf"\b{re.escape(name)}\b", text) is None, name
    body = md.split("## Sensitivity analyses", 1)[1].split("## STROBE", 1)[0]
    for name in sorted(raw):
        pattern = re.escape(name).replace("_", r"\\?_")  # md_text escapes "_"
        assert re.search(rf"\b{pattern}\b", body) is None, name


def test_same_inputs_same_report_but_the_time(tmp_path, study, results, paths):
    first = build(tmp_path, study, results, name="one", sensitivity_paths=paths)
    second = build(tmp_path, study, results, name="two", sensitivity_paths=list(reversed(paths)))
    for a, b in zip(first, second, strict=True):
        assert CREATED.sub("T", a) == CREATED.sub("T", b)


def test_markdown_has_the_same_sections(report, outputs):
    html, md = report
    section = md.split("## Sensitivity analyses", 1)[1].split("## Methods", 1)[0]
    titles = [h for tag, h in parse(html).headings if tag == "h3"]
    for name in ORDER:
        doc = outputs[name]
        assert f"### {doc['title']}" in section or doc["title"] in titles
        assert f"**{_conclusion(doc)}" in section.replace("&#39;", "'"), name
    assert "### Sensitivity analyses" in md.split("## Methods", 1)[1]
    assert "- Sensitivity analyses" in md


def test_no_section_without_outputs(tmp_path, study, results):
    html, md = build(tmp_path, study, results)
    assert 'id="sensitivity"' not in html and "## Sensitivity analyses" not in md


def test_disclosure_hides_the_dose_tables_single_patients(protected, outputs):
    html, md, profile = protected
    page = parse(html)
    dose = page.visible(within="sensitivity-dose_table")
    start = html.index('id="sensitivity-dose_table"')
    dose_html = html[start : html.index("</section>", start)]
    # no minimum or maximum column, and no single patient's dose anywhere
    assert ">Minimum<" not in dose_html and ">Maximum<" not in dose_html
    assert "withheld under disclosure control" in dose
    groups = outputs["dose_table"]["groups"]
    header = dose.split("Median (IQR)", 1)[1].split("Minimum and maximum", 1)[0]
    for g in groups:
        if profile.is_small(g["n"]):
            assert not re.search(rf"{re.escape(g['label'])} \S+ {g['n']}\b", header), g["label"]
    # the conclusion cites each group's smallest toxic dose: not under the profile
    assert "toxic daily doses from" not in dose
    md_dose = md.split("Suggested starting doses and", 1)[1].split("## Methods", 1)[0]
    assert "| Minimum |" not in md_dose and "| Maximum |" not in md_dose
    assert "withheld under disclosure control" in md_dose
    # values imputed: a small count is withheld, in its section and in the Methods
    imputed = outputs["imputation"]["imputed"]
    if any(count and profile.is_small(count) for count in imputed.values()):
        assert "Values imputed: " not in page.visible(within="methods")
        assert "Values imputed per variable: withheld" in page.visible(within="methods")
    assert "Patients and events per risk group" in page.visible(within="sensitivity-calibration")
