"""LaTeX tables: booktabs structure, footnote letters, escaping of every special and of
hostile text, landscape and long tables, withheld tables, determinism, and (when
pdflatex is installed) a document of every table that compiles."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.render.docx import LANDSCAPE_COLUMNS
from analysis.render.grid import Cell, Grid, to_grid
from analysis.render.latex import (
    LONGTABLE_ROWS,
    tex_text,
    to_latex,
    to_latex_document,
    write_latex,
    write_tables_latex,
)

TABLES = ("table1", "table2", "table3", "table4", "table5", "table6", "table7")
HOSTILE = [
    r"\input{/etc/passwd}",
    r"\write18{rm -rf /}",
    r"\immediate\write18{touch /tmp/pwned}",
    "$x$",
    "%comment",
    "}",
    "{",
    r"\end{tabular}",
    "^^5cinput{/etc/passwd}",
    "a & b \\\\ c",
    "#1",
    "x_1 ~ y",
    "[S] \\\\[3pt]",
    "* starred",
    "line one\n\nline two\r\tand\x00more",
]
# A backslash command that came from the input: after escaping, every backslash of the
# input is \textbackslash{}, so no "\name" from the input text may remain.
_COMMAND = re.compile(r"\\(input|write|immediate|end|begin|include|def|catcode|openout|read)")


def _escaped_ok(text: str) -> None:
    """``text`` is inert: no command, no unescaped special, braces balanced."""
    out = tex_text(text)
    assert not _COMMAND.search(out), out
    without_commands = re.sub(r"\\[A-Za-z]+\{\}|\\[{}$&#_%,]|\{[\[\]]\}|\{-+\}", "", out)
    without_commands = re.sub(r"\\text(superscript|subscript)\{[^{}]*\}|\$\\[a-z]+\$|\$-\$", "",
                              without_commands)  # fmt: skip
    for ch in "\\{}$&#^_%\n\r\x00":
        assert ch not in without_commands, (text, out, ch)
    depth = 0
    for ch in re.sub(r"\\[{}]", "", out):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, out
    assert depth == 0, out


def _grid(**kw) -> Grid:
    rows = [
        [Cell("Age (years), mean ± SD"), Cell("63.7 ± 12.6"), Cell("63.5 ± 14.3"),
         Cell("0.926", mark="a")],
        [Cell("Sex, n (%)"), Cell(""), Cell(""), Cell("0.456", mark="b")],
        [Cell("Male"), Cell("329 (88.2)"), Cell("26 (92.9)"), Cell("")],
    ]  # fmt: skip
    args = {
        "title": "Hand-built table",
        "header": ["Characteristic", "No (n = 373)", "Yes (n = 28)", "p"],
        "rows": rows,
        "indent": [0, 0, 1],
        "footnotes": ["Values are mean ± SD.", "a Student's t-test.", "b Pearson chi-square."],
        "number": "2",
        "id": "table2",
    }
    args.update(kw)
    return Grid(**args)


def _wide_grid(columns: int = LANDSCAPE_COLUMNS + 2) -> Grid:
    header = ["Variable"] + [f"Group {k}" for k in range(1, columns)]
    rows = [["Age, mean ± SD"] + ["70.1 ± 9.2"] * (columns - 1), ["n"] + ["12"] * (columns - 1)]
    return Grid("A wide table", header, rows, [0, 1], ["a Student's t-test."], id="wide")


def _long_grid(n: int = LONGTABLE_ROWS + 30) -> Grid:
    rows = [[Cell(str(i)), Cell("x_1 & #2", mark="a" if i == 3 else ""), Cell("[S]")]
            for i in range(1, n + 1)]  # fmt: skip
    return Grid(
        r"A long listing \input{/etc/passwd}", ["Case", "A", "B"], rows, [0] * n,
        ["a A mark.", "Cases are numbered."], kind="listing", number="S1", id="long",
        rows_not_shown=7, max_rows=n,
    )  # fmt: skip


def _hostile_grid() -> Grid:
    rows = [[Cell(h), Cell(h, mark="a"), Cell(h)] for h in HOSTILE]
    return Grid(
        HOSTILE[0], [HOSTILE[1], HOSTILE[3], HOSTILE[4]], rows, [1] * len(rows),
        ["a " + HOSTILE[2], *HOSTILE], number="}", id="x}\\input{y",
    )  # fmt: skip


def _rules(text: str) -> list[str]:
    return re.findall(r"\\(toprule|midrule|bottomrule)", text)


# --- structure, from the real tables --------------------------------------------------


def test_table2_structure(results: dict) -> None:
    grid = to_grid(results["table2"])
    text = to_latex(grid)
    assert "\\begin{table}" in text and "\\begin{threeparttable}" in text
    assert "landscape" not in text and "longtable" not in text
    assert _rules(text) == ["toprule", "midrule", "bottomrule"]
    caption = re.search(r"\\caption\{(.*)\}\\label\{tab:table2\}", text)
    assert caption and caption.group(1).startswith("Table 2.")
    assert "\\renewcommand{\\thetable}{2}" in text
    body = text[text.index("\\midrule") : text.index("\\bottomrule")]
    # every letter after a cell names a note, and every lettered note is used
    marks = set(re.findall(r"\\textsuperscript\{([a-z])\}", body))
    items = set(re.findall(r"\\item\[([a-z])\]", text))
    assert marks and marks == items
    assert marks == {c.mark for row in grid.rows for c in row if c.mark}
    header = text[text.index("\\toprule") : text.index("\\midrule")]
    for heading in grid.header:
        assert tex_text(heading) in header
    # cells appear escaped; level-1 rows are indented; % is escaped in "n (%)"
    assert "\\quad Male" in body
    assert "n (\\%)" in body and "n (%)" not in body
    assert "\\textpm{}" in body and "±" not in text
    first = grid.rows[1]
    assert " & ".join(tex_text(c) + (f"\\textsuperscript{{{c.mark}}}" if c.mark else "")
                      for c in first[1:]) in body  # fmt: skip
    assert text.count("\\item[") == len(grid.footnotes)


def test_model_table(results: dict) -> None:
    grid = to_grid(results["table4"])
    text = to_latex(grid)
    assert _rules(text) == ["toprule", "midrule", "bottomrule"]
    assert "\\begin{tabular}{lcccc}" in text
    assert "{--}" in text and "–" not in text  # CIs "0.203 (0.092–0.446)"
    assert "$-$2 log-likelihood" in text and "R\\textsuperscript{2}" in text
    assert "\\item[]" in text and not re.search(r"\\item\[[a-z]\]", text)  # no marks


def test_listing_is_landscape(results: dict) -> None:
    grid = to_grid(results["table5"])
    assert len(grid.header) > LANDSCAPE_COLUMNS
    text = to_latex(grid)
    assert text.startswith("\\begin{landscape}") and text.rstrip().endswith("\\end{landscape}")
    assert _rules(text) == ["toprule", "midrule", "bottomrule"]
    assert "\\label{tab:table5}" in text


def test_hand_built_grid() -> None:
    text = to_latex(_grid())
    assert "\\begin{tabular}{lccc}" in text
    assert "0.926\\textsuperscript{a} \\\\" in text
    assert "\\item[a] Student's t-test." in text and "\\item[b] Pearson chi-square." in text
    assert "\\item[] Values are mean \\textpm{} SD." in text
    assert "\\quad Male & 329 (88.2) & 26 (92.9) &  \\\\" in text


def test_a_letter_note_without_a_mark_is_plain() -> None:
    """ "p on a factor's own row" starts like a footnote letter but marks no cell."""
    text = to_latex(_grid(footnotes=["p on a categorical variable's own row."]))
    assert "\\item[] p on a categorical" in text


def test_cap_note_is_a_note() -> None:
    grid = _grid(rows_not_shown=12, max_rows=3)
    assert "\\item[] 12 more rows not shown" in to_latex(grid)


def test_wide_table_is_landscape() -> None:
    text = to_latex(_wide_grid())
    assert "\\begin{landscape}" in text and "\\begin{table}" in text
    assert to_latex(_wide_grid(LANDSCAPE_COLUMNS)).count("landscape") == 0


def test_long_table_repeats_its_header() -> None:
    text = to_latex(_long_grid())
    assert "\\begin{longtable}{lcc}" in text and "\\begin{ThreePartTable}" in text
    assert "\\endfirsthead" in text and "\\endhead" in text and "\\endlastfoot" in text
    assert "\\begin{table}" not in text
    assert text.count("\\toprule") == 2 and text.count("\\bottomrule") == 1
    assert "\\item[a] A mark." in text and "\\insertTableNotes" in text
    assert "\\item[] 7 more rows not shown" in text


def test_withheld_table() -> None:
    grid = Grid("Hidden", [], [], [], ["[S] withheld by disclosure control"], kind="withheld",
                number="3", id="table3", withheld="fewer than 5 cases")  # fmt: skip
    text = to_latex(grid)
    assert "\\caption{Table 3. Hidden}\\label{tab:table3}" in text
    assert "Withheld: fewer than 5 cases" in text
    assert "\\item[] {[}S{]} withheld" in text
    assert "\\midrule" not in text


def test_a_row_may_start_with_a_star() -> None:
    """After a row's \\\\ a leading "*" would make it \\\\* and vanish."""
    text = to_latex(_grid(rows=[[Cell("* lower bound"), Cell("1"), Cell("2"), Cell("3")]],
                          indent=[0]))  # fmt: skip
    assert "\n{}* lower bound & 1 & 2 & 3 \\\\\n" in text


def test_header_wraps_long_headings() -> None:
    grid = _grid(header=["Characteristic", "CKD stage 5 non-dialysis (n = 97)", "Yes", "p"])
    text = to_latex(grid)
    assert "\\begin{tabular}[b]{@{}c@{}}" in text
    assert "(n = 97)" in text  # "n = 97" is never broken


# --- escaping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\", r"\textbackslash{}"),
        ("{", r"\{"),
        ("}", r"\}"),
        ("$", r"\$"),
        ("&", r"\&"),
        ("#", r"\#"),
        ("^", r"\textasciicircum{}"),
        ("_", r"\_"),
        ("%", r"\%"),
        ("~", r"\textasciitilde{}"),
        ("[", "{[}"),
        ("±", r"\textpm{}"),
        ("≥ 60", r"$\geq$ 60"),
        ("≤", r"$\leq$"),
        ("×", r"\texttimes{}"),
        ("1–2", "1{--}2"),
        ("—", "{---}"),
        ("−2", "$-$2"),
        ("kg/m²", r"kg/m\textsuperscript{2}"),
        ("m³", r"m\textsuperscript{3}"),
        ("CO₂", r"CO\textsubscript{2}"),
        ("0·5", r"0\textperiodcentered{}5"),
        ("µg", r"\textmu{}g"),
        ("1\u00a0000", "1~000"),
        ("0.03ᵇ", r"0.03\textsuperscript{b}"),
        ("Müller", "Müller"),
        ("a\nb", "a b"),
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert tex_text(text) == expected


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_inert(text: str) -> None:
    _escaped_ok(text)


def test_hostile_grid_is_inert() -> None:
    text = to_latex(_hostile_grid())
    assert not _COMMAND.search(text.replace("\\begin{", "").replace("\\end{", ""))
    assert "\\label{tab:x-input-y}" in text  # a label keeps only safe characters
    assert "\\renewcommand{\\thetable}{\\}}" in text
    for line in text.splitlines():  # no line break from a cell ends a row early
        assert not line.startswith(("line two", "and"))


def test_every_special_in_every_place() -> None:
    special = "\\{}$&#^_%~"
    grid = _grid(title=special, header=[special] * 4, footnotes=[special, "a " + special],
                 rows=[[Cell(special, mark="a")] * 4], indent=[1])  # fmt: skip
    text = to_latex(grid)
    escaped = tex_text(special)
    assert escaped == (r"\textbackslash{}\{\}\$\&\#\textasciicircum{}\_\%\textasciitilde{}")
    assert text.count(escaped) == 1 + 4 + 4 + 2  # caption, header, cells, notes
    assert "\\item[a] " + escaped in text and "\\quad " + escaped in text


# --- determinism and files --------------------------------------------------------------


def test_deterministic(results: dict) -> None:
    grids = [to_grid(results[t]) for t in TABLES]
    assert to_latex_document(grids) == to_latex_document([to_grid(results[t]) for t in TABLES])
    assert to_latex(grids[1]) == to_latex(grids[1])


def test_document(results: dict, tmp_path: Path) -> None:
    grids = [to_grid(results[t]) for t in TABLES]
    text = to_latex_document(grids)
    assert text.startswith("\\documentclass")
    for package in ("booktabs", "threeparttable", "threeparttablex", "longtable", "pdflscape"):
        assert f"\\usepackage{{{package}}}" in text
    for line in ("\\usepackage[T1]{fontenc}", "\\usepackage[utf8]{inputenc}",
                 "\\usepackage{textcomp}", "{geometry}"):  # fmt: skip
        assert line in text
    assert text.count("\\begin{threeparttable}") == len(TABLES)
    assert text.rstrip().endswith("\\end{document}")
    path = write_tables_latex(grids, tmp_path / "out" / "tables.tex")
    assert path.read_text(encoding="utf-8") == text
    one = write_latex(grids[1], tmp_path / "table2.tex")
    assert one.read_text(encoding="utf-8") == to_latex(grids[1])
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["out", "table2.tex", "tables.tex"]


def _pdflatex(tex: str, folder: Path) -> subprocess.CompletedProcess:
    (folder / "doc.tex").write_text(tex, encoding="utf-8")
    return subprocess.run(
        ["pdflatex", "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode",
         "doc.tex"],
        cwd=folder, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_document_compiles(results: dict, tmp_path: Path) -> None:
    grids = [to_grid(results[t]) for t in TABLES]
    withheld = Grid("Hidden", [], [], [], ["[S] withheld"], kind="withheld", number="8",
                    id="table8", withheld="fewer than 5 cases")  # fmt: skip
    grids += [_long_grid(), _hostile_grid(), withheld, _wide_grid()]
    done = _pdflatex(to_latex_document(grids), tmp_path)
    log = (tmp_path / "doc.log").read_text(encoding="latin-1")
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0
    assert "(/etc/passwd" not in log  # TeX logs every file it opens as "(<path>"
    assert not (Path("/tmp") / "pwned").exists()
