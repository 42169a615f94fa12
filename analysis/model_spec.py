"""How each predictor of a study-file model enters the design, checked when the study loads.

A predictor is written either as a variable name or as a mapping::

    predictors:
      - albumin                                  # as declared
      - {variable: ckd_group, reference: 3}      # a categorical, against code 3
      - {variable: age_group, as: continuous}    # its codes entered as numbers (a trend)

The variables list declares a column once (its type is what the data are checked
against); the model decides how the column enters, so one column can be a factor in one
model, a trend in another and the outcome of a third. Everything that could go wrong
is found here, at load time, and named by model and variable: a reference that is not
among the codes, a reference on a predictor that enters per unit, a variable given twice
or as its own outcome, a factor left with one code by the model's ``where``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from analysis.errors import StudyFileError

if TYPE_CHECKING:
    from analysis.study import Study, Variable

__all__ = ["Predictor", "check_model", "model_predictors", "predictor_names"]

#: Keywords of ``reference``; anything else is a code of the variable.
REFERENCE_KEYWORDS = ("first", "last")
#: The reference when neither the predictor nor the model names one (SPSS's
#: ``/CONTRAST (x)=Indicator(1)``; SPSS's own default, plain ``Indicator``, is the last).
DEFAULT_REFERENCE = "first"


@dataclass(frozen=True)
class Predictor:
    """One predictor as it enters the design.

    ``entry`` is ``continuous`` (one term, per one unit of the value or code) or
    ``categorical`` (indicators of every level but ``reference``); ``levels`` are the
    codes in play, in the declared order (only those the model's ``where`` keeps).
    """

    variable: str
    entry: str
    levels: tuple[Any, ...] = ()
    reference: Any = None
    reference_rule: str | None = None  # "first", "last" or "code": how it was chosen

    @property
    def others(self) -> list[Any]:
        """The non-reference levels, one indicator each, in declared order."""
        return [code for code in self.levels if code != self.reference]


def _item(item: str | dict[str, Any]) -> dict[str, Any]:
    return {"variable": item} if isinstance(item, str) else dict(item)


def predictor_names(spec: dict[str, Any]) -> list[str]:
    """The variable of every predictor, in order: what the results JSON lists."""
    return [_item(item)["variable"] for item in spec["predictors"]]


def _codes(var: Variable) -> str:
    return ", ".join(map(str, var.codes))


def _is_number(code: Any) -> bool:
    return isinstance(code, int | float) and not isinstance(code, bool)


def _same_code(a: Any, b: Any) -> bool:
    """Codes compare as the data do: 3 and 3.0 are one code, 3 and "3" are two."""
    return a == b and _is_number(a) == _is_number(b)


def _resolve(
    spec: dict[str, Any],
    index: int,
    variables: dict[str, Variable],
    fail: Callable[[str, str], NoReturn],
) -> Predictor:
    """The :class:`Predictor` of ``spec["predictors"][index]``; ``fail(key, text)`` raises."""
    item = _item(spec["predictors"][index])
    key = f"predictors[{index}]"
    name = item["variable"]
    var = variables.get(name)
    if var is None:
        fail(key, f"'{name}' is not a declared variable")
    if var.type in ("id", "date", "text"):
        fail(key, f"predictor '{name}' is of type {var.type}: it cannot enter a model")
    entry = item.get("as") or ("categorical" if var.is_categorical else "continuous")
    if entry == "categorical" and not var.is_categorical:
        fail(
            f"{key}.as",
            f"predictor '{name}' is continuous and has no codes: to enter it by category, "
            "declare a categorical variable derived from it (derive: {kind: cut, source: "
            f"{name}, breaks: [...]}}) and use that",
        )
    text_codes = [c for c in var.codes if not _is_number(c)]
    if entry == "continuous" and text_codes:
        fail(
            f"{key}.as",
            f"predictor '{name}' has the text code {text_codes[0]!r}: only numeric codes "
            "can enter as continuous",
        )
    if entry == "continuous":
        if "reference" in item:
            how = "as: continuous" if var.is_categorical else "a continuous variable"
            fail(
                f"{key}.reference",
                f"predictor '{name}' enters per one unit ({how}): a reference applies only "
                "to a binary or categorical predictor",
            )
        return Predictor(name, "continuous")
    levels = list(var.codes)
    kept = spec.get("where", {}).get(name)
    if kept is not None:
        kept = kept if isinstance(kept, list) else [kept]
        levels = [c for c in levels if any(_same_code(c, k) for k in kept)]
        if len(levels) < 2:
            fail(
                key,
                f"predictor '{name}' keeps only {', '.join(map(repr, levels)) or 'no code'} "
                "under the model's where: a factor needs two codes or more",
            )
    choice = item.get("reference", spec.get("reference", DEFAULT_REFERENCE))
    ref_key = f"{key}.reference" if "reference" in item else "reference"
    as_code = [c for c in var.codes if _same_code(choice, c)]
    if choice in REFERENCE_KEYWORDS:
        reference = levels[0] if choice == "first" else levels[-1]
        if as_code and not _same_code(reference, choice):
            fail(
                ref_key,
                f"predictor '{name}': reference {choice!r} is both a keyword and a code of "
                f"the variable, and the {choice} code is {reference!r}: rename the code",
            )
        return Predictor(name, "categorical", tuple(levels), reference, choice)
    if not as_code:
        fail(
            ref_key,
            f"predictor '{name}': reference {choice!r} is not a code of the variable "
            f"(codes: {_codes(var)}; or first, last)",
        )
    in_play = [c for c in levels if _same_code(c, choice)]
    if not in_play:
        fail(
            ref_key,
            f"predictor '{name}': reference {choice!r} is excluded by the model's where "
            f"(codes kept: {', '.join(map(str, levels))})",
        )
    return Predictor(name, "categorical", tuple(levels), in_play[0], "code")


def check_model(
    where: Path, key: str, spec: dict[str, Any], variables: dict[str, Variable]
) -> None:
    """Raise :class:`StudyFileError` naming ``key``, the model and the variable, if
    ``spec`` (a schema-valid ``models[i]``) refers to what the study does not have."""
    model_id = spec["id"]

    def fail(sub: str, text: str) -> NoReturn:
        raise StudyFileError(f"{where}: {key}.{sub}: model '{model_id}': {text}")

    outcome = spec["outcome"]
    var = variables.get(outcome)
    if var is None:
        fail("outcome", f"'{outcome}' is not a declared variable")
    if not var.is_categorical:
        fail("outcome", f"'{outcome}' must be binary or categorical")
    if not any(_same_code(spec["event"], c) for c in var.codes):
        fail(
            "event",
            f"{spec['event']!r} is not a code of '{outcome}' (codes: {_codes(var)})",
        )
    for name, values in spec.get("where", {}).items():
        ref = variables.get(name)
        if ref is None:
            fail("where", f"'{name}' is not a declared variable")
        for value in values if isinstance(values, list) else [values]:
            if ref.codes and not any(_same_code(value, c) for c in ref.codes):
                fail(
                    "where",
                    f"{value!r} is not a code of '{name}' (codes: {_codes(ref)})",
                )
    seen: dict[str, int] = {}
    for i in range(len(spec["predictors"])):
        predictor = _resolve(spec, i, variables, fail)
        name = predictor.variable
        if name == outcome:
            fail(
                f"predictors[{i}]",
                f"'{name}' is the model's outcome: it cannot also be a predictor",
            )
        if name in seen:
            fail(
                f"predictors[{i}]",
                f"'{name}' is already predictors[{seen[name]}]: a variable enters a model once "
                "(to compare codings, write a second model)",
            )
        seen[name] = i


def model_predictors(spec: dict[str, Any], study: Study) -> list[Predictor]:
    """Every predictor of a loaded model, resolved (the study file was checked at load)."""

    def fail(sub: str, text: str) -> NoReturn:  # unreachable for a loaded study
        raise StudyFileError(f"{study.path}: model '{spec['id']}': {sub}: {text}")

    return [_resolve(spec, i, study.variables, fail) for i in range(len(spec["predictors"]))]
