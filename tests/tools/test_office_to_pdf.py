"""The DOCX and XLSX tables open in LibreOffice: each converts to PDF without error, and
the PDF's text holds Table 2's title and values taken from results/tables/table2.json."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.render.grid import format_p

pytestmark = [pytest.mark.tools, pytest.mark.workflow]

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")
NEEDS = "install it: tests/tools/install-system-packages.sh (root, Debian)"
# The per-table files, and the whole-study workbooks when the workflow writes them.
DOCUMENTS = ["tables/table2.docx", "tables/table2.xlsx", "tables.docx", "tables.xlsx"]


def _to_pdf(document: Path, out_dir: Path, profile: Path) -> Path:
    """soffice --headless --convert-to pdf, with a private profile (parallel runs and a
    user's open LibreOffice do not collide) and a time limit."""
    out = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out_dir),
            str(document),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    pdf = out_dir / f"{document.stem}.pdf"
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Error" not in out.stdout + out.stderr, out.stdout + out.stderr
    assert pdf.exists() and pdf.stat().st_size > 1000, out.stdout + out.stderr
    return pdf


def _pdf_text(pdf: Path) -> str:
    out = subprocess.run(
        [PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def table2(workflow_run) -> dict:
    return json.loads((workflow_run / "results" / "tables" / "table2.json").read_text())


@pytest.mark.parametrize("name", DOCUMENTS)
def test_office_file_converts_to_pdf_with_its_values(workflow_run, table2, name, tmp_path):
    if SOFFICE is None or PDFTOTEXT is None:
        pytest.skip(f"no {'soffice' if SOFFICE is None else 'pdftotext'} on PATH: {NEEDS}")
    document = workflow_run / "reports" / name
    if not document.exists():
        if name.startswith("tables/"):
            pytest.fail(f"the workflow wrote no {name}")
        pytest.skip(f"the workflow writes no reports/{name} (yet)")
    # one folder per document: table2.docx and table2.xlsx both become table2.pdf
    pdf = _to_pdf(document, tmp_path / "pdf", tmp_path / "profile")
    text = " ".join(_pdf_text(pdf).split())  # one line: a workbook may wrap a cell
    assert " ".join(table2["title"].split()) in text
    for group in table2["groups"]:
        assert f"n = {group['n']}" in text, group
    p_values = [format_p(row["p_value"]) for row in table2["rows"] if row.get("p_value")]
    assert len(p_values) >= 5
    for p in p_values[:5] + p_values[-3:]:
        assert p in text, p
    counts = [
        f"{s['count']} ({s['percent']:.1f})"
        for row in table2["rows"]
        if row["kind"] == "categorical" and row.get("shown", True)
        for s in row["stats"].values()
        if s.get("n")
    ]
    for cell in counts[:6]:
        assert cell in text, cell
