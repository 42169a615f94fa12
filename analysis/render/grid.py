"""Turn results JSON into a display grid: header, rows of strings, footnotes.

The one place where numbers are rounded and laid out like the paper
(mean ± SD, median (min, max), n (%), p to three decimals with "<0.001",
a footnote letter naming each row's test). Markdown, CSV, HTML, Word and Excel writers
all print the same grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analysis.tables import TEST_LABELS

__all__ = [
    "LISTING_MAX_ROWS",
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
    "median_min_max": "median (min, max)",
    "median_iqr": "median [IQR]",
    "n_pct": "n (%)",
}


@dataclass
class Grid:
    title: str
    header: list[str]
    rows: list[list[str]]
    indent: list[int] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    kind: str = "summary"  # summary | model | listing: a styling hint for HTML
    rows_not_shown: int = 0  # rows of a capped listing left out after ``rows``
    max_rows: int | None = None  # the cap that left them out

    @property
    def cap_note(self) -> str:
        """The line every format prints after a capped listing's rows ("" if none)."""
        if not self.rows_not_shown:
            return ""
        return (
            f"{self.rows_not_shown} more rows not shown "
            f"(listing capped at {self.max_rows} rows; set listing_max_rows)"
        )


def format_p(p: float | None) -> str:
    if p is None:
        return ""
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


def _num(x: float | None, decimals: int) -> str:
    return "" if x is None else f"{x:.{decimals}f}"


def _continuous_cell(s: dict[str, Any], summary: str, d: int) -> str:
    if not s or not s.get("n"):
        return "-"
    if summary == "mean_sd":
        return f"{_num(s['mean'], d)} ± {_num(s['sd'], d) or '-'}"
    if summary == "median_iqr":
        return f"{_num(s['median'], d)} [{_num(s['q1'], d)}, {_num(s['q3'], d)}]"
    return f"{_num(s['median'], d)} ({_num(s['min'], d)}, {_num(s['max'], d)})"


def _count_cell(s: dict[str, Any]) -> str:
    if not s or not s.get("n"):
        return "-"
    return f"{s['count']} ({s['percent']:.1f})"


class _Notes:
    """Footnote letters, assigned in order of first use."""

    def __init__(self) -> None:
        self.letters: dict[str, str] = {}

    def mark(self, test: str) -> str:
        if test in (None, "none"):
            return ""
        if test not in self.letters:
            self.letters[test] = "abcdefghijklmnopqrstuvwxyz"[len(self.letters)]
        return self.letters[test]

    def lines(self) -> list[str]:
        return [f"{letter} {TEST_LABELS.get(t, t)}." for t, letter in self.letters.items()]


def _expected_count_notes(by_var: dict[str, list[dict[str, Any]]]) -> list[str]:
    """SPSS CROSSTABS' footnote, for every chi-square row with small expected counts."""
    notes = []
    for rows in by_var.values():
        first = rows[0]
        details = first.get("test_details") or {}
        cells = details.get("cells_expected_lt5")
        if first["test"] in ("chi_square", "yates_chi_square") and cells:
            notes.append(
                f"{first['label']}: {cells} cell(s) ({details['cells_expected_lt5_pct']:.1f}%) "
                f"have expected count < 5; the minimum expected count is "
                f"{details['expected_min']:.2f}."
            )
    return notes


def summary_grid(result: dict[str, Any]) -> Grid:
    groups = result["groups"]
    keys = [g["key"] for g in groups]
    tested = result["group_by"] is not None
    header = ["Characteristic"] + [f"{g['label']} (n = {g['n']})" for g in groups]
    if tested:
        header.append("p")
    notes = _Notes()
    rows: list[list[str]] = []
    indent: list[int] = []
    by_var: dict[str, list[dict[str, Any]]] = {}
    for row in result["rows"]:
        by_var.setdefault(row["variable"], []).append(row)
    for variable_rows in by_var.values():
        first = variable_rows[0]
        letter = notes.mark(first["test"]) if tested else ""
        p_cell = f"{format_p(first['p_value'])}{(' ' + letter) if letter else ''}"
        label = f"{first['label']}, {SUMMARY_LABELS[first['summary']]}"
        if first["kind"] == "continuous":
            cells = [
                _continuous_cell(first["stats"].get(k), first["summary"], first["decimals"])
                for k in keys
            ]
            rows.append([label, *cells] + ([p_cell] if tested else []))
            indent.append(0)
        elif first["kind"] == "binary":
            shown = next((r for r in variable_rows if r.get("shown")), variable_rows[-1])
            rows.append(
                [label, *[_count_cell(shown["stats"].get(k)) for k in keys]]
                + ([p_cell] if tested else [])
            )
            indent.append(0)
        else:
            rows.append([label, *[""] * len(keys)] + ([p_cell] if tested else []))
            indent.append(0)
            for level_row in variable_rows:
                rows.append(
                    [
                        level_row["level_label"],
                        *[_count_cell(level_row["stats"].get(k)) for k in keys],
                    ]
                    + ([""] if tested else [])
                )
                indent.append(1)
        missing = [first["stats"].get(k, {}).get("missing", 0) for k in keys]
        if any(missing):
            rows.append(["Missing", *[str(m) for m in missing]] + ([""] if tested else []))
            indent.append(1)
    footnotes = [
        f"Values are {', '.join(sorted({SUMMARY_LABELS[r['summary']] for r in result['rows']}))}; "
        "percentages of non-missing values."
    ]
    footnotes += notes.lines()
    footnotes += _expected_count_notes(by_var)
    policy = result.get("policy", {})
    if tested and policy.get("description"):
        footnotes.append(f"Test policy '{policy['name']}': {policy['description'].strip()}")
    return Grid(result["title"], header, rows, indent, footnotes)


def _normality_p(p: float | None, test: str) -> str:
    """As SPSS EXAMINE prints it: Lilliefors p of 0.2 or more is a lower bound, '0.200*'."""
    if p is None:
        return "-"
    if test == "lilliefors" and p >= 0.2:
        return "0.200*"
    return format_p(p)


def normality_grid(result: dict[str, Any]) -> Grid | None:
    """The per-group normality p-values that chose each continuous row's test."""
    rows = [r for r in result.get("rows", []) if r.get("normality")]
    if not rows:
        return None
    groups = result["groups"]
    test = rows[0]["normality_test"]
    header = ["Variable"] + [g["label"] for g in groups] + ["Test used"]
    body = [
        [r["label"], *[_normality_p(r["normality"].get(g["key"]), test) for g in groups],
         TEST_LABELS.get(r["test"], r["test"])]
        for r in rows
    ]  # fmt: skip
    notes = [f"Normality test: {test}, p-value per group."]
    if test == "lilliefors":
        notes.append("* Lower bound of the true significance (as SPSS prints it).")
    return Grid(f"Tests of normality: {result['title']}", header, body, [0] * len(body), notes)


def _or_cell(term: dict[str, Any] | None) -> list[str]:
    if not term:
        return ["", ""]
    if None in (term.get("odds_ratio"), term.get("ci_low"), term.get("ci_high")):
        return ["not estimable", format_p(term.get("p_value"))]
    return [
        f"{term['odds_ratio']:.3f} ({term['ci_low']:.3f}-{term['ci_high']:.3f})",
        format_p(term["p_value"]),
    ]


def _missing_note(missing: dict[str, int]) -> str:
    parts = [f"{name} {count}" for name, count in missing.items() if count]
    return f" (missing: {', '.join(parts)})" if parts else ""


def _factor_p(fit: dict[str, Any] | None, name: str) -> str:
    """A factor's own p: joint Wald (as SPSS prints it) for ML, penalised LR for Firth."""
    test = next((t for t in (fit or {}).get("predictor_tests", []) if t["predictor"] == name), None)
    if test is None:
        return ""
    key = "lr_p_value" if fit.get("method") == "firth" else "wald_p_value"
    return format_p(test.get(key))


def model_grid(result: dict[str, Any]) -> Grid:
    labels = result["term_labels"]
    header = ["Variable", "Crude OR (95% CI)", "p", "Adjusted OR (95% CI)", "p"]
    adjusted = {t["term"]: t for t in result["terms"]}
    firth_fit = result.get("firth") or {}
    firth = {t["term"]: t for t in firth_fit.get("terms", [])}
    if firth:
        header += ["Firth OR (95% CI)", "p"]
    rows = []
    indent = []
    factors = False
    for name in result["predictors"]:
        crude_fit = result["crude"].get(name, {})
        crude_terms = {t["term"]: t for t in crude_fit.get("terms", [])}
        terms = result.get("predictor_terms", {}).get(name, [name])
        if len(terms) > 1:  # a factor: its own row with the joint test, as SPSS prints
            factors = True
            label = result.get("predictor_labels", {}).get(name, name)
            row = [label, "", _factor_p(crude_fit, name), "", _factor_p(result, name)]
            if firth:
                row += ["", _factor_p(firth_fit, name)]
            rows.append(row)
            indent.append(0)
        for term in terms:
            row = [
                labels.get(term, term),
                *_or_cell(crude_terms.get(term)),
                *_or_cell(adjusted.get(term)),
            ]
            if firth:
                row += _or_cell(firth.get(term))
            rows.append(row)
            indent.append(1 if len(terms) > 1 else 0)
    fit = result.get("fit", {})
    hl = fit.get("hosmer_lemeshow") or {}
    notes = [
        f"Multiple logistic regression of {result['outcome']} (event = {result['event']}); "
        f"n = {result['n']}, events = {result['events']}, "
        f"events per variable = {result['events_per_variable']:.1f}; "
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
            "k - 1 df (Wald chi-square, as SPSS prints; penalised likelihood ratio for "
            "Firth's fit)."
        )
    if fit and result.get("method") == "firth":
        notes.append(
            f"Penalised log-likelihood {fit.get('penalized_loglik', float('nan')):.3f}; "
            f"penalised likelihood-ratio test of the model {fit.get('lr_statistic', 0):.3f} "
            f"on {fit.get('lr_df')} df, p {format_p(fit.get('lr_p_value'))}; "
            f"c-statistic {fit.get('c_statistic', float('nan')):.3f}."
        )
    elif fit:
        notes.append(
            f"-2 log-likelihood {fit.get('minus2ll', float('nan')):.3f}; "
            f"Cox & Snell R² {fit.get('cox_snell_r2', float('nan')):.3f}; "
            f"Nagelkerke R² {fit.get('nagelkerke_r2', float('nan')):.3f}; "
            f"c-statistic {fit.get('c_statistic', float('nan')):.3f}; "
            f"Hosmer-Lemeshow p {format_p(hl.get('p_value'))} "
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
    return Grid(result["title"], header, rows, indent, notes)


def _listing_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) else f"{value:.1f}"
    return str(value)


def listing_grid(result: dict[str, Any], max_rows: int | None = LISTING_MAX_ROWS) -> Grid:
    """One row per case, at most ``max_rows`` of them (``None``: all).

    Only the shown rows are formatted, so a capped listing of 10^6 cases costs
    no more to render than one of ``max_rows``.
    """
    if max_rows is not None and max_rows < 0:
        raise ValueError(f"listing_max_rows must be 0 or more, not {max_rows}")
    records = result["rows"]
    shown = records if max_rows is None else records[:max_rows]
    header = ["Case"] + [c["label"] for c in result["columns"]]
    rows = [
        [str(r["case"])] + [_listing_value(r["values"][c["variable"]]) for c in result["columns"]]
        for r in shown
    ]
    notes = ["Cases are numbered 1..k; no identifiers are shown."]
    return Grid(
        result["title"],
        header,
        rows,
        [0] * len(rows),
        notes,
        kind="listing",
        rows_not_shown=len(records) - len(shown),
        max_rows=max_rows,
    )


def to_grid(result: dict[str, Any], listing_max_rows: int | None = LISTING_MAX_ROWS) -> Grid:
    """The display grid of one result; a listing shows at most ``listing_max_rows`` rows."""
    if "model" in result:
        return model_grid(result)
    if result.get("kind") == "listing":
        return listing_grid(result, listing_max_rows)
    return summary_grid(result)
