"""Turn results JSON into a display grid: header, rows of cells, footnotes.

The one place where numbers are rounded and laid out like the paper
(mean ± SD, median (min–max), n (%), p with "<0.001", a footnote letter naming
each row's test). Markdown, CSV, HTML, LaTeX, Word and Excel writers all print
the same grid, so letters, p-value rules, suppression marks and decimals agree
in every format. No statistic is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analysis.method_labels import NORMALITY_LABELS, TEST_LABELS
from analysis.render.number_style import PAPER, NumberStyle
from analysis.render.typeset import typeset

__all__ = [
    "LISTING_MAX_ROWS",
    "Cell",
    "Grid",
    "format_p",
    "listing_grid",
    "model_grid",
    "normality_grid",
    "summary_grid",
    "to_grid",
]

# A listing has one row per subject: at 10^6 subjects an uncapped report.html
# would run to tens of megabytes. The results JSON always keeps every row.
LISTING_MAX_ROWS = 500

SUMMARY_LABELS = {
    "mean_sd": "mean ± SD",
    "median_min_max": "median (min–max)",
    "median_iqr": "median [IQR]",
    "n_pct": "n (%)",
}
# Shown for a number withheld by disclosure control, in every format.
SUPPRESSED = "[S]"
# In ranges and confidence intervals (typographic en dash).
EN_DASH = "–"


class Cell(str):
    """A cell's text, with the footnote letter set after it and the numbers it shows.

    A ``str`` so that code reading a grid as text keeps working; ``mark`` is printed
    as a superscript by each writer, never glued into the text, and ``values`` holds
    the numbers as shown (rounded) for writers that store numbers (the tidy CSV).
    """

    mark: str
    values: tuple[tuple[str, float | int | None], ...]

    def __new__(
        cls, text: str = "", mark: str = "", values: tuple[tuple[str, Any], ...] = ()
    ) -> Cell:
        cell = super().__new__(cls, text)
        cell.mark = mark
        cell.values = tuple(values)
        return cell

    @property
    def marked(self) -> str:
        """Text and mark as plain text ("0.030 b"), for places without superscripts."""
        return f"{self} {self.mark}" if self.mark else str(self)


@dataclass
class Grid:
    title: str
    header: list[str]
    rows: list[list[Cell]]
    indent: list[int] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    kind: str = "summary"  # summary | model | listing: a styling hint for HTML
    rows_not_shown: int = 0  # rows of a capped listing left out after ``rows``
    max_rows: int | None = None  # the cap that left them out
    number: str | None = None  # the table's number in the paper ("2", "S1")
    id: str = ""  # the results id (file names, anchors), never shown as text
    withheld: str = ""  # why the whole table is withheld (disclosure control)
    header_values: list[tuple[tuple[str, Any], ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rows = [[c if isinstance(c, Cell) else Cell(c) for c in row] for row in self.rows]

    @property
    def caption(self) -> str:
        """'Table 2. <title>' when the study file numbers the table, else the title."""
        return f"Table {self.number}. {self.title}" if self.number else self.title

    @property
    def cap_note(self) -> str:
        """The line every format prints after a capped listing's rows ("" if none)."""
        if not self.rows_not_shown:
            return ""
        return (
            f"{self.rows_not_shown} more rows not shown "
            f"(listing capped at {self.max_rows} rows; set listing_max_rows)"
        )


def format_p(p: float | None, style: NumberStyle = PAPER) -> str:
    """A p-value as ``style`` prints it (the paper's: 3 decimals, "<0.001")."""
    return style.p(p)


def _num(x: float | None, decimals: int, style: NumberStyle) -> str:
    return "" if x is None else style.number(x, decimals)


def _value(x: float | None, decimals: int) -> float | None:
    """The number as a cell shows it: rounded like its text."""
    return None if x is None else round(float(x), decimals)


def _withheld(s: dict[str, Any], *keys: str) -> bool:
    """Whether disclosure control hid any of ``keys``; a count it only rounded (the
    OpenSAFELY profile) is shown, rounded."""
    marks = s.get("disclosure") or {}
    return any(marks.get(k) not in (None, "rounded") for k in keys)


def _continuous_cell(s: dict[str, Any], summary: str, d: int, style: NumberStyle) -> Cell:
    if not s:
        return Cell("–")
    keys = {
        "mean_sd": ("mean", "sd"),
        "median_iqr": ("median", "q1", "q3"),
        "median_min_max": ("median", "min", "max"),
    }[summary]
    if _withheld(s, *keys):
        return Cell(SUPPRESSED)
    if not s.get("n") and not _withheld(s, "n"):
        return Cell("–")
    text = [_num(s.get(k), d, style) for k in keys]
    values = tuple((k, _value(s.get(k), d)) for k in keys)
    if summary == "mean_sd":
        return Cell(f"{text[0]} ± {text[1] or '–'}", values=values)
    if summary == "median_iqr":
        return Cell(f"{text[0]} [{text[1]}{EN_DASH}{text[2]}]", values=values)
    return Cell(f"{text[0]} ({text[1]}{EN_DASH}{text[2]})", values=values)


def _count_cell(s: dict[str, Any], style: NumberStyle) -> Cell:
    if not s:
        return Cell("–")
    if _withheld(s, "count"):
        return Cell(SUPPRESSED)
    if not s.get("n") and not _withheld(s, "n"):
        return Cell("–")
    if s.get("percent") is None:  # its denominator withheld: the count alone
        return Cell(f"{s['count']} ({SUPPRESSED})", values=(("n", s["count"]),))
    values = (("n", s["count"]), ("percent", _value(s["percent"], 1)))
    return Cell(f"{s['count']} ({style.number(s['percent'], 1)})", values=values)


def _missing_cell(s: dict[str, Any]) -> Cell:
    if _withheld(s, "missing"):
        return Cell(SUPPRESSED)
    count = s.get("missing", 0)
    return Cell(str(count), values=(("missing", count),))


class _Notes:
    """Footnote letters, assigned in order of first use."""

    def __init__(self) -> None:
        self.letters: dict[str, tuple[str, str]] = {}

    def mark(self, key: str | None, text: str | None = None) -> str:
        """The letter of ``key`` (a test id, or any note given by ``text``)."""
        if key in (None, "none"):
            return ""
        if key not in self.letters:
            letter = "abcdefghijklmnopqrstuvwxyz"[len(self.letters) % 26]
            self.letters[key] = (letter, text or f"{TEST_LABELS.get(key, key)}.")
        return self.letters[key][0]

    def lines(self) -> list[str]:
        return [f"{letter} {text}" for letter, text in self.letters.values()]


def _p_cell(row: dict[str, Any], notes: _Notes, style: NumberStyle) -> Cell:
    """The row's p with its test's letter; a missing p says why instead of staying empty."""
    p = row.get("p_value")
    if p is None:
        reason = row.get("test_reason") or "no test could be computed"
        if row.get("test") not in (None, "none"):
            reason = f"{TEST_LABELS.get(row['test'], row['test'])} could not be computed"
        return Cell("–", mark=notes.mark(f"no-p: {reason}", f"– no p-value: {reason}."))
    text = style.p(p)
    shown = text.lstrip("<>").replace(style.decimal_mark, ".")
    shown = ("0" + shown) if shown.startswith(".") else shown
    return Cell(text, mark=notes.mark(row["test"]), values=(("p", float(shown)),))


def _expected_count_notes(by_var: dict[str, list[dict[str, Any]]], style: NumberStyle) -> list[str]:
    """SPSS CROSSTABS' footnote, for every chi-square row with small expected counts."""
    notes = []
    for rows in by_var.values():
        first = rows[0]
        details = first.get("test_details") or {}
        cells = details.get("cells_expected_lt5")
        if first["test"] in ("chi_square", "yates_chi_square") and cells:
            notes.append(
                f"{typeset(first['label'])}: {cells} cell(s) "
                f"({style.number(details['cells_expected_lt5_pct'], 1)}%) have expected "
                f"count < 5; the minimum expected count is "
                f"{style.number(details['expected_min'], 2)}."
            )
    return notes


def _group_header(group: dict[str, Any]) -> str:
    n = SUPPRESSED if _withheld(group, "n") or group.get("n") is None else group["n"]
    return f"{typeset(group['label'])} (n = {n})"


def _disclosure_notes(result: dict[str, Any]) -> list[str]:
    info = result.get("disclosure")
    if not info:
        return []
    return [
        f"{SUPPRESSED} withheld by disclosure control ({info.get('profile', '')}): "
        f"{str(info.get('description', '')).strip()}"
    ]


#: The key of the Overall column's statistics in a row's ``stats`` (``overall: true``).
OVERALL = "overall"


def summary_grid(result: dict[str, Any], style: NumberStyle = PAPER) -> Grid:
    groups = list(result["groups"])
    if any(OVERALL in (row.get("stats") or {}) for row in result["rows"]):
        # First, as tableone and gtsummary's add_overall() place it.
        groups.insert(0, {"key": OVERALL, "label": "Overall", "n": result.get("n")})
    keys = [g["key"] for g in groups]
    tested = result["group_by"] is not None
    header = ["Characteristic"] + [_group_header(g) for g in groups]
    header_values = [()] + [(("n", g.get("n")),) for g in groups]
    if tested:
        header.append("p")
        header_values.append(())
    notes = _Notes()
    rows: list[list[Cell]] = []
    indent: list[int] = []
    by_var: dict[str, list[dict[str, Any]]] = {}
    for row in result["rows"]:
        by_var.setdefault(row["variable"], []).append(row)
    for variable_rows in by_var.values():
        first = variable_rows[0]
        p_cell = [_p_cell(first, notes, style)] if tested else []
        blank = [Cell("")] if tested else []
        label = Cell(f"{typeset(first['label'])}, {SUMMARY_LABELS[first['summary']]}")
        if first["kind"] == "continuous":
            cells = [
                _continuous_cell(first["stats"].get(k), first["summary"], first["decimals"], style)
                for k in keys
            ]
            rows.append([label, *cells, *p_cell])
            indent.append(0)
        elif first["kind"] == "binary":
            shown = next((r for r in variable_rows if r.get("shown")), variable_rows[-1])
            rows.append(
                [label, *[_count_cell(shown["stats"].get(k), style) for k in keys], *p_cell]
            )
            indent.append(0)
        else:
            rows.append([label, *[Cell("")] * len(keys), *p_cell])
            indent.append(0)
            for level_row in variable_rows:
                rows.append(
                    [
                        Cell(typeset(level_row["level_label"])),
                        *[_count_cell(level_row["stats"].get(k), style) for k in keys],
                        *blank,
                    ]
                )
                indent.append(1)
        stats = [first["stats"].get(k, {}) for k in keys]
        if any(s.get("missing", 0) or _withheld(s, "missing") for s in stats):
            rows.append([Cell("Missing"), *[_missing_cell(s) for s in stats], *blank])
            indent.append(1)
    summaries = sorted({SUMMARY_LABELS[r["summary"]] for r in result["rows"]})
    footnotes = [f"Values are {', '.join(summaries)}; percentages of non-missing values."]
    footnotes += notes.lines()
    footnotes += _expected_count_notes(by_var, style)
    policy = result.get("policy", {})
    if tested and policy.get("description"):
        footnotes.append(
            f"Test policy '{policy['name']}': {typeset(policy['description'].strip())}"
        )
    footnotes += _disclosure_notes(result)
    return Grid(
        typeset(result["title"]),
        header,
        rows,
        indent,
        footnotes,
        number=result.get("number"),
        id=result.get("table", ""),
        header_values=header_values,
    )


def _normality_p(p: float | None, test: str, style: NumberStyle) -> str:
    """As SPSS EXAMINE prints it: Lilliefors p of 0.2 or more is a lower bound, '0.200*'."""
    if p is None:
        return "–"
    if test == "lilliefors" and p >= 0.2:
        return style.p(0.2) + "*"
    return style.p(p)


def normality_grid(result: dict[str, Any], style: NumberStyle = PAPER) -> Grid | None:
    """The per-group normality p-values that chose each continuous row's test."""
    rows = [r for r in result.get("rows", []) if r.get("normality")]
    if not rows:
        return None
    groups = result["groups"]
    test = rows[0]["normality_test"]
    header = ["Variable"] + [typeset(g["label"]) for g in groups] + ["Test used"]
    body = [
        [typeset(r["label"]),
         *[_normality_p(r["normality"].get(g["key"]), test, style) for g in groups],
         TEST_LABELS.get(r["test"], r["test"])]
        for r in rows
    ]  # fmt: skip
    notes = [f"Normality test: {NORMALITY_LABELS.get(test, test)}, p-value per group."]
    if test == "lilliefors":
        notes.append("* Lower bound of the true significance (as SPSS prints it).")
    title = f"Tests of normality: {typeset(result['title'])}"
    number = result.get("number")
    if number:
        title = f"Tests of normality for Table {number}"
    return Grid(
        title, header, body, [0] * len(body), notes, id=f"{result.get('table', '')}-normality"
    )


def _or_cell(term: dict[str, Any] | None, style: NumberStyle) -> list[Cell]:
    if not term:
        return [Cell(""), Cell("")]
    p = term.get("p_value")
    p_cell = Cell(style.p(p), values=(("p", p),) if p is not None else ())
    if None in (term.get("odds_ratio"), term.get("ci_low"), term.get("ci_high")):
        return [Cell("not estimable"), p_cell]
    keys = ("odds_ratio", "ci_low", "ci_high")
    text = [style.number(term[k], 3) for k in keys]
    values = tuple((k, _value(term[k], 3)) for k in keys)
    return [Cell(f"{text[0]} ({text[1]}{EN_DASH}{text[2]})", values=values), p_cell]


def _missing_note(missing: dict[str, int]) -> str:
    parts = [f"{name} {count}" for name, count in missing.items() if count]
    return f" (missing: {', '.join(parts)})" if parts else ""


def _factor_p(fit: dict[str, Any] | None, name: str, style: NumberStyle) -> Cell:
    """A factor's own p: joint Wald (as SPSS prints it) for ML, penalised LR for Firth."""
    test = next((t for t in (fit or {}).get("predictor_tests", []) if t["predictor"] == name), None)
    if test is None:
        return Cell("")
    key = "lr_p_value" if fit.get("method") == "firth" else "wald_p_value"
    p = test.get(key)
    return Cell(style.p(p), values=(("p", p),) if p is not None else ())


def model_grid(result: dict[str, Any], style: NumberStyle = PAPER) -> Grid:
    labels = {k: typeset(v) for k, v in result["term_labels"].items()}
    header = ["Variable", "Crude OR (95% CI)", "p", "Adjusted OR (95% CI)", "p"]
    adjusted = {t["term"]: t for t in result["terms"]}
    firth_fit = result.get("firth") or {}
    firth = {t["term"]: t for t in firth_fit.get("terms", [])}
    if firth:
        header += ["Firth OR (95% CI)", "p"]
    rows: list[list[Cell]] = []
    indent = []
    factors = False
    for name in result["predictors"]:
        crude_fit = result["crude"].get(name, {})
        crude_terms = {t["term"]: t for t in crude_fit.get("terms", [])}
        terms = result.get("predictor_terms", {}).get(name, [name])
        if len(terms) > 1:  # a factor: its own row with the joint test, as SPSS prints
            factors = True
            label = typeset(result.get("predictor_labels", {}).get(name, name))
            row = [
                Cell(label),
                Cell(""),
                _factor_p(crude_fit, name, style),
                Cell(""),
                _factor_p(result, name, style),
            ]
            if firth:
                row += [Cell(""), _factor_p(firth_fit, name, style)]
            rows.append(row)
            indent.append(0)
        for term in terms:
            row = [
                Cell(labels.get(term, term)),
                *_or_cell(crude_terms.get(term), style),
                *_or_cell(adjusted.get(term), style),
            ]
            if firth:
                row += _or_cell(firth.get(term), style)
            rows.append(row)
            indent.append(1 if len(terms) > 1 else 0)
    fit = result.get("fit", {})
    hl = fit.get("hosmer_lemeshow") or {}
    num = style.number
    epv = result.get("events_per_variable")
    notes = [
        f"Multiple logistic regression of {result['outcome']} (event = {result['event']}); "
        f"n = {result['n']}, events = {result['events']}, "
        f"events per variable = {num(epv, 1) if epv is not None else '–'}; "
        f"{result.get('n_dropped', 0)} row(s) dropped for missing values"
        + _missing_note(result.get("missing_by_column", {}))
        + ".",
    ]
    if result.get("method") == "firth":
        notes.append(
            f"{result.get('method_reason', 'Firth penalised likelihood')}: odds ratios with "
            "profile penalised-likelihood 95% confidence intervals and penalised "
            f"likelihood-ratio p-values (as R's logistf); {result['coding']}."
        )
    else:
        notes.append(
            f"Odds ratios with Wald 95% confidence intervals (as SPSS prints); {result['coding']}."
        )
    if factors:
        notes.append(
            "p on a categorical variable's own row: joint test of all its indicators on "
            "k − 1 df (Wald chi-square, as SPSS prints; penalised likelihood ratio for "
            "Firth's fit)."
        )
    if fit and result.get("method") == "firth":
        notes.append(
            f"Penalised log-likelihood {num(fit.get('penalized_loglik', float('nan')), 3)}; "
            f"penalised likelihood-ratio test of the model {num(fit.get('lr_statistic', 0), 3)} "
            f"on {fit.get('lr_df')} df, p {style.p(fit.get('lr_p_value'))}; "
            f"c-statistic {num(fit.get('c_statistic', float('nan')), 3)}."
        )
    elif fit:
        notes.append(
            f"−2 log-likelihood {num(fit.get('minus2ll', float('nan')), 3)}; "
            f"Cox & Snell R² {num(fit.get('cox_snell_r2', float('nan')), 3)}; "
            f"Nagelkerke R² {num(fit.get('nagelkerke_r2', float('nan')), 3)}; "
            f"c-statistic {num(fit.get('c_statistic', float('nan')), 3)}; "
            f"Hosmer–Lemeshow p {style.p(hl.get('p_value'))} "
            f"({hl.get('groups')} groups, deciles of risk)."
        )
    for warning in result.get("warnings", []):
        notes.append(f"Warning: {warning}")
    if result.get("firth"):
        notes.append(
            "Firth's penalised-likelihood fit added because of few events per variable or "
            "separation: profile penalised-likelihood 95% CIs and penalised likelihood-ratio "
            "p-values (as R's logistf)."
        )
    notes += _disclosure_notes(result)
    if not result["crude"]:  # `crude: false`: no empty columns
        header = header[:1] + header[3:]
        rows = [row[:1] + row[3:] for row in rows]
    return Grid(
        typeset(result["title"]),
        header,
        rows,
        indent,
        notes,
        kind="model",
        number=result.get("number"),
        id=result.get("model", ""),
    )


def _listing_cell(value: Any, style: NumberStyle) -> Cell:
    if value is None:
        return Cell("")
    if isinstance(value, bool):
        return Cell(str(value))
    if isinstance(value, int | float):
        if value == int(value):
            return Cell(f"{value:g}" if isinstance(value, float) else str(value),
                        values=(("value", value),))  # fmt: skip
        return Cell(style.number(value, 1), values=(("value", round(value, 1)),))
    return Cell(typeset(str(value)))


def listing_grid(
    result: dict[str, Any], max_rows: int | None = LISTING_MAX_ROWS, style: NumberStyle = PAPER
) -> Grid:
    """One row per case, at most ``max_rows`` of them (``None``: all).

    Only the shown rows are formatted, so a capped listing of 10^6 cases costs
    no more to render than one of ``max_rows``.
    """
    if max_rows is not None and max_rows < 0:
        raise ValueError(f"listing_max_rows must be 0 or more, not {max_rows}")
    records = result["rows"]
    shown = records if max_rows is None else records[:max_rows]
    header = ["Case"] + [typeset(c["label"]) for c in result["columns"]]
    rows = [
        [Cell(str(r["case"]))]
        + [_listing_cell(r["values"][c["variable"]], style) for c in result["columns"]]
        for r in shown
    ]
    notes = ["Cases are numbered 1..k; no identifiers are shown."]
    return Grid(
        typeset(result["title"]),
        header,
        rows,
        [0] * len(rows),
        notes + _disclosure_notes(result),
        kind="listing",
        # a results file may hold only the first rows of a long listing (rows_capped_at)
        rows_not_shown=max(len(records), result.get("n", 0)) - len(shown),
        max_rows=max_rows,
        number=result.get("number"),
        id=result.get("table", ""),
    )


def _withheld_grid(result: dict[str, Any]) -> Grid:
    return Grid(
        typeset(result["title"]),
        [],
        [],
        [],
        _disclosure_notes(result),
        kind="withheld",
        number=result.get("number"),
        id=result.get("table") or result.get("model", ""),
        withheld=result["withheld"],
    )


def to_grid(
    result: dict[str, Any],
    listing_max_rows: int | None = LISTING_MAX_ROWS,
    style: NumberStyle = PAPER,
) -> Grid:
    """The display grid of one result; a listing shows at most ``listing_max_rows`` rows."""
    if result.get("withheld"):
        return _withheld_grid(result)
    if "model" in result:
        return model_grid(result, style)
    if result.get("kind") == "listing":
        return listing_grid(result, listing_max_rows, style)
    return summary_grid(result, style)
