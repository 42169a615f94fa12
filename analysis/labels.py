"""SPSS and Stata value labels matched to the study's codes, by label.

A labelled export (``sex``: 1 = "Female", 2 = "Male") and its CSV twin holding the
study's codes (1 = Male, 2 = Female) must give the same cohort without a mapping.
So when a column of an SPSS/Stata file carries value labels and its study variable
has codes, each value in the column is recoded to the study code whose label is the
same as the value's label. Labels are compared in :func:`label_key` form: Unicode
NFKC, case-folded, runs of whitespace as one space, trimmed (``" MALE "``, ``"male"``
and full-width ``"Ｍａｌｅ"`` all match ``Male``).

Per column (the values considered are those present in the data after the reader's
and the mapping's missing values were removed):

* a value whose label matches a study label becomes that study code;
* if every matched label already sits on its study code (the file uses the study's
  codes), a value whose label matches none, or that has no label, keeps its code;
  the validator then checks it like any other value;
* otherwise (the file's codes differ from the study's), such a value is an error:
  its raw code means nothing in the study's coding;
* two labels of the file that match the same study label are an error.

Every value recoded or kept is reported (``frame.attrs["value_labels"]``), and a
recode of the column in the mapping file always wins: its column is left alone here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.errors import DataError
from analysis.study import Study, Variable

if TYPE_CHECKING:  # the report reads summary_lines without pandas
    import pandas as pd

__all__ = ["apply_value_labels", "label_key", "show_value", "summary_lines"]


def label_key(text: Any) -> str:
    """How labels compare: NFKC, case-folded, whitespace collapsed, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


def _value_key(value: Any) -> Any:
    """A file value or a label's code as one key: numbers as float, text trimmed."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return unicodedata.normalize("NFC", str(value).strip())


def show_value(value: Any) -> str:
    """A data value as messages quote it: 2.0 as 2, text with its quotes."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value)


def _codes_list(var: Variable) -> str:
    return ", ".join(f"{k}={v}" for k, v in var.codes.items())


def apply_value_labels(
    frame: pd.DataFrame,
    value_labels: dict[str, dict[Any, str]],
    study: Study,
    *,
    source: str,
    skip: Iterable[str] = (),
    file_names: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """``frame`` with labelled columns in the study's codes, and what was matched.

    ``value_labels`` is keyed by the frame's (renamed) column names; ``file_names``
    maps a renamed column back to the export's name, for messages; ``skip`` lists
    columns the mapping recodes itself. Returns a new frame (``frame`` is untouched)
    and one record per value present: ``{column, value, label, code, code_label, by,
    count, first_row}`` with ``by`` = ``"label"`` (recoded or confirmed by its label)
    or ``"code"`` (kept: its label matches no study label, or it has none).
    """
    skipped = set(skip)
    out = frame.copy(deep=False)
    records: list[dict[str, Any]] = []
    for column in frame.columns:
        labels = value_labels.get(column)
        var = study.variables.get(str(column))
        if not labels or var is None or not var.codes or column in skipped:
            continue
        name = str(column)
        where = f"{source}: column '{name}'"
        if file_names and file_names.get(name, name) != name:
            where = f"{source}: column '{file_names[name]}' (study variable '{name}')"
        new, found = _recode_column(frame[column], labels, var, where)
        out[column] = new
        records += [{"column": name, **r} for r in found]
    return out, records


def _recode_column(
    col: pd.Series, labels: dict[Any, str], var: Variable, where: str
) -> tuple[pd.Series, list[dict[str, Any]]]:
    study_by_label: dict[str, Any] = {}
    for code, text in var.codes.items():
        study_by_label.setdefault(label_key(text), code)
    file_labels = {_value_key(k): str(v) for k, v in labels.items()}
    import pandas as pd  # the caller's frame has it loaded

    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    codes = np.asarray(codes)

    def first_row(*values: Any) -> int | None:
        keys = {_value_key(v) for v in values}
        hits = [i for i, u in enumerate(uniques) if _value_key(u) in keys]
        rows = np.flatnonzero(np.isin(codes, hits)) if hits else np.array([], int)
        return int(rows[0]) + 1 if rows.size else None

    # two labels of the file naming the same study code: the result would depend on order
    claimed: dict[Any, Any] = {}
    for value, text in file_labels.items():
        code = study_by_label.get(label_key(text))
        if code is None:
            continue
        if code in claimed:
            other = claimed[code]
            row = first_row(other, value)
            at = f", row {row}" if row else ""
            raise DataError(
                f"{where}{at}: values {show_value(other)} ({file_labels[other]!r}) and "
                f"{show_value(value)} ({text!r}) are both labelled like the study's code "
                f"{code} ({var.codes[code]!r}); recode the column in the mapping file"
            )
        claimed[code] = value
    matched = {v: c for c, v in claimed.items()}
    agrees = all(_value_key(c) == v for v, c in matched.items())
    valid = {_value_key(c): c for c in var.codes}

    present = codes >= 0
    counts = np.bincount(codes[present], minlength=len(uniques))
    first = np.zeros(len(uniques), dtype="int64")
    seen, at = np.unique(codes[present], return_index=True)
    first[seen] = np.flatnonzero(present)[at] + 1  # 1-based data row of each value
    target: list[Any] = []
    found: list[dict[str, Any]] = []
    for i, raw in enumerate(uniques):
        value = raw.item() if isinstance(raw, np.generic) else raw
        key = _value_key(value)
        text = file_labels.get(key)
        if key in matched:
            code, by = matched[key], "label"
        elif not agrees:
            what = f"labelled {text!r}" if text is not None else "has no value label"
            raise DataError(
                f"{where}, row {first[i]}: value {show_value(value)} {what}, which matches no "
                f"label of the study's codes ({_codes_list(var)}), while the column's other "
                "values are recoded by their labels; recode the column in the mapping "
                "file, or declare the value missing there"
            )
        elif key in valid or text is None:
            code, by = valid.get(key, value), "code"  # no label: the validator checks it
        else:
            raise DataError(
                f"{where}, row {first[i]}: value {show_value(value)} labelled {text!r} matches "
                f"no label of the study's codes ({_codes_list(var)}) and is not one of those "
                "codes; recode the column in the mapping file, or declare the value "
                "missing there"
            )
        target.append(code)
        found.append(
            {
                "value": value,
                "label": text,
                "code": code,
                "code_label": var.codes.get(code) if key in matched or key in valid else None,
                "by": by,
                "count": int(counts[i]),
                "first_row": int(first[i]),
            }
        )
    values = np.array([*target, None], dtype=object)
    mapped = pd.Series(values[np.where(codes < 0, len(target), codes)], index=col.index)
    if all(isinstance(t, int | float) and not isinstance(t, bool) for t in target):
        mapped = pd.to_numeric(mapped)
    else:
        mapped = mapped.infer_objects()
    return mapped, found


def summary_lines(records: list[dict[str, Any]]) -> list[str]:
    """One line per column: what each labelled value became (for ``validate``)."""
    by_column: dict[str, list[str]] = {}
    for r in records:
        label = repr(r["label"]) if r["label"] is not None else "(no label)"
        code = f"{r['code']} ({r['code_label']})" if r["code_label"] is not None else r["code"]
        kept = ", code kept" if r["by"] == "code" else ""
        by_column.setdefault(r["column"], []).append(
            f"{show_value(r['value'])} {label} -> {code}{kept}: {r['count']} row(s)"
        )
    return [f"column '{c}': " + "; ".join(parts) for c, parts in by_column.items()]
