"""Command line: ``python -m analysis <verb>``.

Every Snakemake rule calls one of these verbs, so each step also runs alone.
Errors print one line and exit with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from analysis.disclosure import Profile
    from analysis.render.number_style import NumberStyle
    from analysis.study import Study

from analysis.atomic import write_texts
from analysis.errors import AnalysisError

DEFAULT_STUDY = "studies/baclofen_ckd.yaml"


def _add_policy(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--policy",
        default=None,
        help="use this test policy for every grouped table instead of the study "
        "file's (a sensitivity analysis, e.g. recommended)",
    )


def _add_formats(p: argparse.ArgumentParser) -> None:
    from analysis.render import DEFAULT_FORMATS, FORMATS

    p.add_argument(
        "--formats",
        nargs="+",
        choices=FORMATS,
        default=list(DEFAULT_FORMATS),
        help="table formats to write (default: %(default)s)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _optional_positive(text: str) -> int | None:
    """As `_positive`, with "" meaning not given (make passes its empty variables on)."""
    return _positive(text) if text.strip() else None


def _optional_choice(*names: str):
    """One of ``names``, with "" meaning not given (make passes its empty variables on);
    argparse's own ``choices`` would list that "" among the choices in its error."""

    def parse(text: str) -> str:
        if text and text not in names:
            raise argparse.ArgumentTypeError(f"{text!r}: choose one of {', '.join(names)}")
        return text

    return parse


def _add_listing_cap(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--listing-max-rows",
        type=_positive,
        default=500,
        help="listings (one row per patient) show at most this many rows (default: %(default)s)",
    )


def _add_study(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", default=DEFAULT_STUDY, help="study file (default: %(default)s)")


def _add_number_style(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--number-style",
        choices=["paper", "ama", "lancet"],
        default=None,
        help="print p-values and decimals in this preset's style (default: the study "
        "file's display settings, else the paper's)",
    )


def _add_disclosure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--disclosure",
        default=None,
        metavar="NAME",
        help="disclosure-control profile of analysis/disclosure.yaml (threshold, "
        "opensafely; default: off): small counts suppressed, no single patient's value",
    )


def _add_site_disclosure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--disclosure",
        default="threshold",
        metavar="NAME",
        help="disclosure-control profile the aggregates pass (default: %(default)s; one "
        "that rounds counts cannot be pooled exactly)",
    )


def _add_site_input(p: argparse.ArgumentParser, out: str) -> None:
    """What a site's verbs take: its data (as every verb reads it), its name, the output,
    the disclosure profile and the study file."""
    _add_input(p)
    p.add_argument("--site", required=True, help="the site's name, as its bundle carries it")
    p.add_argument("--out", required=True, help=out)
    _add_site_disclosure(p)
    _add_study(p)


def _disclosure(args: argparse.Namespace) -> Profile | None:
    from analysis.disclosure import load_profile

    return load_profile(getattr(args, "disclosure", None))


def _site_profile(args: argparse.Namespace) -> Profile:
    """The profile of the multi-site verbs: required, and one that keeps counts exact."""
    from analysis.multisite.share import check_profile

    return check_profile(_disclosure(args))


def _number_style(args: argparse.Namespace, study: Study | None = None) -> NumberStyle:
    """The run's number style: --number-style, else the study file's ``display``."""
    from analysis.render.number_style import resolve_style

    study = study or _load_study(args.study)
    return resolve_style(study.raw.get("display"), args.number_style, study.alpha)


def _add_input(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data", help="data file (.csv .tsv .xlsx .sav .zsav .por .dta .sas7bdat .xpt .parquet)"
    )
    p.add_argument(
        "--mapping",
        default=None,
        help="site mapping file: renames, recodes, unit conversions (docs/own-data.md)",
    )
    p.add_argument("--sheet", default=None, help="Excel sheet name or 0-based index")
    p.add_argument("--header-row", type=int, default=None, help="Excel: 1-based header row")
    p.add_argument("--encoding", default=None, help="text files: force an encoding (e.g. cp949)")
    p.add_argument("--delimiter", default=None, help="text files: force a delimiter")


def _load(args: argparse.Namespace, study):
    from analysis.inputs import ReadOptions, load_input

    sheet = args.sheet
    if isinstance(sheet, str) and sheet.isdigit():
        sheet = int(sheet)
    options = ReadOptions(sheet, args.header_row, args.encoding, args.delimiter)
    try:
        key = (_file_key(args.data), _file_key(args.mapping), _file_key(args.study), options)
    except OSError:  # a missing file: load_input says so in its own words
        key = None
    frame = _INPUTS.pop(key, None)  # each read reused once at most: not held after use
    _INPUTS.clear()
    if frame is None:
        frame = load_input(args.data, study, args.mapping, options)
        if key is not None:
            _INPUTS[key] = frame
    return _own_copy(frame)


#: The input as the last `_load` of this process read it, for the next step of a `batch`
#: (`derive` after `validate`): reading is deterministic, so the same files and options
#: give the same frame, and a 10^7-row input is not read (and held) twice. Keyed by each
#: file's path, size and modification time and by the read options.
_INPUTS: dict[tuple, pd.DataFrame] = {}


def _file_key(path: str | None) -> tuple[str, int, int] | None:
    if not path:
        return None
    stat = Path(path).stat()
    return (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def _own_copy(frame: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy (copy-on-write keeps each step's changes its own) with its own attrs."""
    import copy

    out = frame.copy(deep=False)
    out.attrs = copy.deepcopy(frame.attrs)
    return out


def _load_valid(args: argparse.Namespace, study):
    """The input, refused with every validation error listed if any (warnings printed)."""
    from analysis.errors import DataError
    from analysis.validate import validate_frame

    frame = _load(args, study)
    checked = getattr(args, "validated", None)
    if checked:
        # The workflow's validate step already checked this input: trust its report
        # if it has no errors, rather than validating the same rows twice.
        from analysis.results import read_json

        previous = read_json(checked)
        same = previous.get("checked_inputs") == _input_fingerprint(args)
        if same and previous.get("n_errors") == 0:
            return frame
    report = validate_frame(frame, study, source=str(args.data))
    for problem in report.problems:
        print(f"{problem.severity}: {report.line(problem)}", file=sys.stderr)
    if report.errors:
        raise DataError(
            f"{args.data}: {len(report.errors)} validation error(s), listed above; "
            "nothing was written"
        )
    return frame


def _guard(inputs: list, outputs: list[tuple[str, object]]) -> None:
    """Refuse, before anything is written, an output that would overwrite an input."""
    from analysis.paths import refuse_overwriting

    refuse_overwriting(inputs, outputs)


def _input_files(args: argparse.Namespace) -> list:
    return [args.data, args.mapping, args.study]


def _out_dir(option: str, path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise AnalysisError(f"{option} {path}: is a file; give a directory")
    return out


def cmd_synth(args: argparse.Namespace) -> int:
    from analysis.export import write_cohort
    from analysis.synth.generator import DEFAULT_PARAMS, iter_chunks, load_params

    _guard([args.params or DEFAULT_PARAMS, args.study], [("--out", args.out)])
    params = load_params(args.params)
    study = _load_study(args.study)
    chunks = iter_chunks(args.n, args.seed, params, args.chunk_size, study=study)
    rows = write_cohort(chunks, args.out, study)
    seed = params["seed"] if args.seed is None else args.seed
    print(f"wrote {rows} synthetic patients (seed {seed}) to {args.out}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from analysis.results import dumps
    from analysis.validate import validate_frame

    _guard(_input_files(args), [("--json-out", args.json_out)])
    study = _load_study(args.study)
    report = validate_frame(_load(args, study), study, source=str(args.data))
    _print_read_notes(report)
    for problem in report.problems:
        print(f"{problem.severity}: {report.line(problem)}")
    for key, more in report.truncated.items():
        print(f"note: {more} more row(s) not listed for {key}")
    print(
        f"{report.n_rows} rows checked: {len(report.errors)} error(s), "
        f"{len(report.warnings)} warning(s) (study file {study.path})"
    )
    if args.json_out:
        from analysis.atomic import atomic_path

        with atomic_path(args.json_out) as tmp:
            content = {**report.to_dict(), "checked_inputs": _input_fingerprint(args)}
            tmp.write_text(dumps(content), encoding="utf-8")
    return 2 if report.errors else 0


def _print_read_notes(report) -> None:
    """What reading did besides reading: identifier columns dropped, values matched by label."""
    from analysis.labels import summary_lines

    if report.identifiers_dropped:
        names = ", ".join(f"'{c}'" for c in report.identifiers_dropped)
        print(f"note: identifier column(s) dropped: {names}")
    for line in summary_lines(report.value_labels):
        print(f"note: value labels, {line}")


def _input_fingerprint(args: argparse.Namespace) -> dict[str, str | None]:
    """Checksums of what a validation read: a later step may reuse it only for these."""
    from analysis.fingerprint import file_sha256

    return {
        "data": file_sha256(args.data),
        "mapping": file_sha256(args.mapping) if args.mapping else None,
        "study": file_sha256(args.study),
    }


def _flow_json(study, derived) -> dict:
    """The cohort flow as written next to the cohort: steps, values made missing, substituted."""
    return {
        "study": study.id,
        "steps": derived.flow,
        "made_missing": derived.made_missing,
        "substituted": derived.substituted,
    }


def cmd_derive(args: argparse.Namespace) -> int:
    from analysis.derive import derive_cohort_traced
    from analysis.export import all_or_nothing, compact_codes, write_cohort
    from analysis.results import write_json

    _guard([*_input_files(args), args.validated], [("--out", args.out), ("--flow", args.flow)])
    study = _load_study(args.study)
    derived = derive_cohort_traced(_load_valid(args, study), study)
    with all_or_nothing([args.out, args.flow] if args.flow else [args.out]):
        write_cohort([compact_codes(derived.cohort, study)], args.out, study)
        if args.flow:
            write_json(_flow_json(study, derived), args.flow, validate=False)
    print(f"cohort of {len(derived.cohort)} patients written to {args.out}")
    return 0


def _result(cohort, study, output_id: str, policy: str | None = None) -> dict:
    from analysis.models import build_model
    from analysis.tables import build_table

    if output_id in [m["id"] for m in study.models]:
        return build_model(cohort, study, output_id)
    if policy is not None and policy not in study.policies:
        raise AnalysisError(
            f"--policy: '{policy}' is not a policy (known: {', '.join(study.policies)})"
        )
    return build_table(cohort, study, output_id, policy)


#: The derived cohort read by this process: a `batch` of steps reads it once, not once per
#: table (at 10^7 patients a read takes seconds and gigabytes). Keyed by the file's path,
#: size and modification time, so a changed file is read again.
_COHORTS: dict[tuple[str, int, int] | None, pd.DataFrame] = {}


#: The study files read by this process while a `batch` runs (None outside one): its
#: steps share one checked Study per file instead of reading, parsing and validating the
#: study file (and, for the scorecard and the analyses that compare with the paper, the
#: published figures) once per step. Keyed as the cohorts are, so a changed file is read
#: again. A Study is frozen: no step changes what another reads.
_STUDIES: dict[tuple[str, int, int] | None, Study] | None = None


def _load_study(path: str) -> Study:
    """``load_study(path)``; within a `batch`, once per file."""
    from analysis.study import load_study

    if _STUDIES is None or not Path(path).is_file():  # (its own error for a missing file)
        return load_study(path)
    key = _file_key(path)
    if key not in _STUDIES:
        _STUDIES[key] = load_study(path)
    return _STUDIES[key]


def _derived_cohort(path: str) -> pd.DataFrame:
    """The cohort file's frame; a shallow copy each time, which pandas' copy-on-write keeps
    apart from every other step's (a step that changes it changes its own copy)."""
    from analysis.io import read_cohort

    key = _file_key(path)
    if key not in _COHORTS:
        _COHORTS.clear()
        _COHORTS[key] = read_cohort(path)
    return _COHORTS[key].copy(deep=False)


#: Models fitted by this process, by cohort file, study file and model id: the analyses
#: of a `batch` compare with the same main model, fitted once (at 10^6 rows, a fit is
#: seconds). The same numbers as the results file a split job reads (tests compare).
_MODELS: dict[tuple, dict] = {}


class _FittedModels(Mapping):
    """The study's models' results, each fitted on first use and kept for the process. A
    model that cannot be fitted raises where an analysis asks for it, as fitting it there
    would, so that analysis reports "not run" and the others go on."""

    def __init__(self, cohort_path: str, study_path: str, cohort: pd.DataFrame, study: Study):
        self._file, self._study_file = _file_key(cohort_path), _file_key(study_path)
        self._cohort, self._study = cohort, study
        self._ids = [spec["id"] for spec in study.models]

    def __getitem__(self, model_id: str) -> dict:
        if model_id not in self._ids:
            raise KeyError(model_id)
        from analysis.models import build_model

        key = (self._file, self._study_file, model_id)
        if key not in _MODELS:
            _MODELS[key] = build_model(self._cohort, self._study, model_id)
        return _MODELS[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def cmd_result(args: argparse.Namespace) -> int:
    from analysis.results import write_json

    _guard([args.cohort, args.study], [("--out", args.out)])
    study = _load_study(args.study)
    cohort = _derived_cohort(args.cohort)
    write_json(
        _capped(_result(cohort, study, args.id, args.policy), args.listing_max_rows), args.out
    )
    return 0


def _capped(result: dict, max_rows: int | None) -> dict:
    """A listing keeps its first ``max_rows`` cases (``n`` still counts all): at 10^6
    patients the full listing is a 40 MB file that every later step would parse, to show
    the same first rows."""
    if max_rows is None or result.get("kind") != "listing" or len(result["rows"]) <= max_rows:
        return result
    return {**result, "rows": result["rows"][:max_rows], "rows_capped_at": max_rows}


def cmd_render(args: argparse.Namespace) -> int:
    from analysis.render.writers import render_result
    from analysis.results import read_json

    outputs = [("--out-base", f"{args.out_base}.{fmt}") for fmt in args.formats]
    _guard([args.result, args.study], outputs)
    rendered = render_result(
        read_json(args.result),
        args.out_base,
        args.formats,
        listing_max_rows=args.listing_max_rows,
        style=_number_style(args),
        disclosure=_disclosure(args),
    )
    for path in rendered:
        print(f"wrote {path}")
    return 0


def cmd_manuscript(args: argparse.Namespace) -> int:
    from analysis.render.manuscript import write_manuscript

    outputs = [(opt, getattr(args, opt[2:])) for opt in ("--docx", "--xlsx", "--tex")]
    outputs = [(opt, path) for opt, path in outputs if path]
    if not outputs:
        raise AnalysisError("manuscript: give at least one of --docx, --xlsx, --tex")
    _guard([*args.results, args.study], outputs)
    study = _load_study(args.study)
    paths = write_manuscript(
        study,
        [Path(p) for p in args.results],
        {opt[2:]: Path(path) for opt, path in outputs},
        listing_max_rows=args.listing_max_rows,
        style=_number_style(args, study),
        disclosure=_disclosure(args),
    )
    for path in paths:
        print(f"wrote {path}")
    return 0


def _results_by_id(paths: list[str]) -> dict[str, dict]:
    from analysis.results import read_json

    out = {}
    for path in paths:
        doc = read_json(path)
        if doc.get("kind") == "sensitivity":
            # e.g. table4_calibration, a calibration figure's default `results`; keyed by
            # its model alone, it would take the place of the model's own results
            out[f"{doc.get('model')}_{doc['analysis']}"] = doc
        else:
            out[doc.get("model") or doc.get("table") or doc.get("id") or Path(path).stem] = doc
    return out


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from analysis.results import write_json
    from analysis.sensitivity import run_analysis

    _guard([args.cohort, args.study, *args.results], [("--out", args.out)])
    study = _load_study(args.study)
    entries = {e["id"]: e for e in study.sensitivity}
    if args.id not in entries:
        raise AnalysisError(
            f"--id: '{args.id}' is not a sensitivity analysis of {args.study} "
            f"(analyses: {', '.join(entries) or 'none'})"
        )
    overrides = {"workers": args.workers} if entries[args.id]["analysis"] == "bootstrap" else {}
    cohort = _derived_cohort(args.cohort)
    given = _results_by_id(args.results)
    result = run_analysis(
        entries[args.id],
        cohort,
        study,
        given or _FittedModels(args.cohort, args.study, cohort, study),
        **overrides,
    )
    write_json(result, args.out, validate=False)
    print(f"{args.id}: {result['conclusion']['text']}")
    return 0


def cmd_scorecard(args: argparse.Namespace) -> int:
    from analysis.results import read_json
    from analysis.scorecard import score, write_scorecard

    outputs = [("--html", args.html), ("--md", args.md), ("--json", args.json)]
    _guard([args.study, *args.results, *([args.flow] if args.flow else [])], outputs)
    study = _load_study(args.study)
    own = args.data_label.strip().lower().startswith("synthetic")
    results = _results_by_id(args.results)
    flow = read_json(args.flow) if args.flow else None
    profile = _disclosure(args)
    if profile is not None:  # a suppressed count is compared as withheld, never shown
        from analysis.disclosure import apply_to_flow, apply_to_result

        results = {key: apply_to_result(doc, profile) for key, doc in results.items()}
        flow = apply_to_flow(flow, profile) if flow else None
    card = score(study, results, flow, own_data=own)
    write_scorecard(card, study, args.html, args.md, args.json)
    print(card["headline"])
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    from analysis.atomic import all_or_nothing
    from analysis.derive import derive_cohort_traced
    from analysis.render.writers import render_result
    from analysis.results import write_json

    out = _out_dir("--out", args.out)
    ids = args.only or None
    study = _load_study(args.study)
    ids = ids or study.output_ids()
    names = ["flow.json"] + [f"{oid}.{ext}" for oid in ids for ext in ("json", *args.formats)]
    _guard(_input_files(args), [("--out", out), *(("--out", out / n) for n in names)])
    derived = derive_cohort_traced(_load_valid(args, study), study)
    # Everything is computed before anything is written, and a failure while writing
    # removes the whole set: no partial set is left.
    results = {oid: _result(derived.cohort, study, oid, args.policy) for oid in ids}
    style, profile = _number_style(args, study), _disclosure(args)
    with all_or_nothing([out / n for n in names]):
        write_json(_flow_json(study, derived), out / "flow.json", validate=False)
        for output_id, result in results.items():
            write_json(result, out / f"{output_id}.json")
            render_result(
                result,
                out / output_id,
                args.formats,
                listing_max_rows=args.listing_max_rows,
                style=style,
                disclosure=profile,
            )
    for output_id in results:
        print(f"{output_id}: {out / output_id}.json")
    return 0


def _check_same_inputs(args: argparse.Namespace) -> None:
    """The report names the inputs' checksums: they must be those the data were checked with."""
    if not args.validation:
        return
    from analysis.fingerprint import file_sha256
    from analysis.results import read_json

    checked = read_json(args.validation).get("checked_inputs") or {}
    on_disk = {file_sha256(p) for p in args.inputs if Path(p).is_file()}
    for role, digest in checked.items():
        if digest and digest not in on_disk:
            raise AnalysisError(
                f"--inputs: the {role} file changed after it was validated (checksum "
                f"{digest[:12]}... no longer on disk); rerun the workflow"
            )


def cmd_run(args: argparse.Namespace) -> int:
    from analysis.workflow import run_workflow

    extra = args.snakemake[1:] if args.snakemake[:1] == ["--"] else args.snakemake
    return run_workflow(
        args.data or None,
        args.mapping or None,
        args.cores,
        extra,
        disclosure=args.disclosure or None,
        number_style=args.number_style or None,
        n=args.n,
        study=args.study or None,
    )


def cmd_batch(args: argparse.Namespace) -> int:
    """Several steps in one process, in order, stopping at the first that fails: a grouped
    job pays the interpreter's start-up and the imports (about 2 s) once instead of once
    per table. Each step is exactly the verb a split job runs, so the outputs are the same.
    The steps come as one JSON list of argument lists: no file name, however odd, can be
    mistaken for a separator."""
    try:
        steps = json.loads(args.steps)
    except json.JSONDecodeError as exc:
        raise AnalysisError(f"batch: the steps are not a JSON list ({exc})") from None
    if not (isinstance(steps, list) and all(
        isinstance(step, list) and step and all(isinstance(a, str) for a in step)
        for step in steps
    )):  # fmt: skip
        raise AnalysisError("batch: give the steps as a JSON list of argument lists")
    parser = build_parser()
    global _STUDIES
    _STUDIES = {}
    try:
        for step in steps:
            if step[0] in ("batch", "run"):
                raise AnalysisError(f"batch: '{step[0]}' cannot be a step of a batch")
            step_args = parser.parse_args(step)
            status = step_args.func(step_args)
            if status:
                return status
    finally:
        _STUDIES = None
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from analysis.figures import draw_figures, figure_files

    out_dir = _out_dir("--out-dir", args.out_dir)
    study = _load_study(args.study)
    files = [f for figure in study.figures for f in figure_files(out_dir, figure["id"])]
    _guard(
        [args.cohort, args.study, *args.results, *([args.flow] if args.flow else [])],
        [("--out-dir", out_dir), *(("--out-dir", f) for f in files)],
    )
    results = _results_by_id(args.results)
    flow = json.loads(Path(args.flow).read_text(encoding="utf-8")) if args.flow else None
    profile = _disclosure(args)
    cohort = _derived_cohort(args.cohort)
    if args.fit_models:
        from analysis.results import dumps

        fitted = _FittedModels(args.cohort, args.study, cohort, study)
        for model_id in {f["model"] for f in study.figures if "model" in f} - results.keys():
            # as the result step writes it: the figures are those drawn from its file
            results[model_id] = json.loads(dumps(fitted[model_id]))
    drawn = draw_figures(cohort, study, args.out_dir, results, flow, profile)
    for path in drawn:
        print(f"wrote {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from analysis.report import write_report

    out = Path(args.out)
    _guard(
        [
            *args.results,
            args.flow,
            args.validation,
            *args.figures,
            *args.sensitivity,
            *args.inputs,
            args.study,
        ],
        [
            ("--out", out),
            ("--out", out.with_suffix(".md")),
            ("--out", out.with_name("provenance.json")),
        ],
    )
    _check_same_inputs(args)
    study = _load_study(args.study)
    paths = write_report(
        study,
        [Path(p) for p in args.results],
        Path(args.flow) if args.flow else None,
        [Path(p) for p in args.figures],
        Path(args.out),
        args.data_label,
        [Path(p) for p in args.inputs],
        Path(args.validation) if args.validation else None,
        listing_max_rows=args.listing_max_rows,
        settings_sha256=args.settings_sha256,
        sensitivity_paths=[Path(p) for p in args.sensitivity],
        style=_number_style(args, study),
        disclosure=_disclosure(args),
    )
    for path in paths:
        print(f"wrote {path}")
    return 0


# --------------------------------------------------------------------------- multi-site


def _site_cohort(args: argparse.Namespace, study):
    """The site's derived cohort, validated and derived as the workflow does, in memory."""
    from analysis.derive import derive_cohort_traced

    return derive_cohort_traced(_load_valid(args, study), study).cohort


def _read_sealed(path: str, kind: str) -> dict:
    from analysis.multisite.bundle import verify_sealed

    return verify_sealed(Path(path), kind)


def cmd_share(args: argparse.Namespace) -> int:
    from analysis.fingerprint import file_sha256
    from analysis.multisite.bundle import seal, summary_markdown
    from analysis.multisite.share import build_bundle, check_site_name
    from analysis.results import dumps
    from analysis.study import load_study

    if not args.data:
        raise AnalysisError("share: give the site's data file (make share DATA=... SITE=...)")
    if not args.site:
        raise AnalysisError("share: give the site's name (make share DATA=... SITE=...)")
    check_site_name(args.site)
    args.mapping = args.mapping or None  # make passes an unset MAPPING as ""
    summary = args.summary or str(Path(args.out).with_suffix(".md"))
    _guard(_input_files(args), [("--out", args.out), ("--summary", summary)])
    profile = _site_profile(args)
    study = load_study(args.study)
    bundle = seal(
        build_bundle(_site_cohort(args, study), study, args.site, profile, file_sha256(args.study))
    )
    write_texts([(args.out, dumps(bundle)), (summary, summary_markdown(bundle))])
    print(f"bundle of site {args.site} written to {args.out}; review {summary} before sending")
    return 0


def cmd_share_round(args: argparse.Namespace) -> int:
    from analysis.multisite.bundle import seal
    from analysis.multisite.share import check_site_name, score_round
    from analysis.results import dumps
    from analysis.study import load_study

    check_site_name(args.site)
    args.mapping = args.mapping or None
    _guard([*_input_files(args), args.round], [("--out", args.out)])
    current = _read_sealed(args.round, "multisite-round")
    if args.site not in current["sites"]:
        raise AnalysisError(f"{args.round}: site '{args.site}' is not one of the round's sites")
    profile = _site_profile(args)
    study = load_study(args.study)
    cohort = _site_cohort(args, study)
    models = {
        model_id: {**score_round(cohort, study, model_id, state["beta"], profile),
                   "beta": state["beta"]}
        for model_id, state in current["models"].items()
    }  # fmt: skip
    part = {"kind": "multisite-contribution", "site": args.site, "round": current["round"],
            "models": models}  # fmt: skip
    write_texts([(args.out, dumps(seal(part)))])
    print(f"site {args.site}: round {current['round']} contribution written to {args.out}")
    return 0


def _in_round_order(path: str, round_doc: dict, bundles: list[dict]) -> list[dict]:
    """The bundles in the order the round lists its sites (the order they are given in
    on the command line, or a shell glob's, does not matter); other sites are refused."""
    by_site = {b["site"]: b for b in bundles}
    if sorted(by_site) != sorted(round_doc["sites"]):
        raise AnalysisError(
            f"{path}: a round of sites {', '.join(round_doc['sites'])}, but the bundles "
            f"given are of {', '.join(by_site)}"
        )
    return [by_site[site] for site in round_doc["sites"]]


def cmd_pool_round(args: argparse.Namespace) -> int:
    from analysis.fingerprint import file_sha256
    from analysis.multisite import rounds
    from analysis.multisite.bundle import read_bundles, seal
    from analysis.results import dumps
    from analysis.study import load_study

    previous = [args.previous] if args.previous else []
    _guard([*args.bundles, args.study, *previous, *args.contributions], [("--out", args.out)])
    study = load_study(args.study)
    profile = _site_profile(args)
    bundles = read_bundles(args.bundles, study, file_sha256(args.study), profile.threshold)
    if args.previous is None:
        if args.contributions:
            raise AnalysisError("pool-round: --contributions need the --previous round")
        doc = rounds.start(bundles, [m["id"] for m in study.models])
    else:
        current = _read_sealed(args.previous, "multisite-round")
        bundles = _in_round_order(args.previous, current, bundles)
        parts: dict[str, dict] = {}
        for path in args.contributions:
            part = _read_sealed(path, "multisite-contribution")
            rounds.check_contribution(Path(path), part, current, profile.threshold)
            if part["site"] in parts:
                raise AnalysisError(f"{path}: a second contribution from site '{part['site']}'")
            parts[part["site"]] = part
        doc = rounds.step(current, parts)
    write_texts([(args.out, dumps(seal(doc)))])
    print(f"round {doc['round']} written to {args.out}")
    for model_id, state in doc["models"].items():  # so a user running rounds knows when to stop
        if state["converged"]:
            print(f"  {model_id}: converged at round {state['converged_at']}; `pool` may follow")
        elif state["max_step"] is not None:
            print(f"  {model_id}: largest step {state['max_step']:.2g}, not converged yet")
    return 0


def cmd_pool(args: argparse.Namespace) -> int:
    from analysis.fingerprint import file_sha256
    from analysis.multisite.bundle import read_bundles
    from analysis.multisite.pool import pool_study
    from analysis.multisite.report import write_pooled
    from analysis.study import load_study

    out_dir = _out_dir("--out", args.out)
    inputs = [*args.bundles, args.study, *([args.rounds] if args.rounds else [])]
    _guard(inputs, [("--out", out_dir)])
    study = load_study(args.study)
    profile = _site_profile(args)
    bundles = read_bundles(args.bundles, study, file_sha256(args.study), profile.threshold)
    final = _read_sealed(args.rounds, "multisite-round") if args.rounds else None
    if final is not None:
        bundles = _in_round_order(args.rounds, final, bundles)
    for path in write_pooled(pool_study(bundles, study, final), out_dir):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Baclofen-CKD study: synthetic cohort, validation, tables, report.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = sub.add_parser(
        "synth",
        help="write a calibrated synthetic cohort",
        description=(
            "Write a synthetic cohort calibrated to Cheong et al. 2020. At n = 401 with the "
            "default seed it reproduces every published count exactly; any n works (generated "
            "in chunks, bounded memory for CSV/Parquet). Assumptions not published in the paper "
            "live in the parameters file, each with a clinical justification."
        ),
    )
    p.add_argument(
        "--n", type=_positive, default=401, help="number of patients (default: %(default)s)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="random seed (default: the parameters file's, 20200543)",
    )
    p.add_argument(
        "--out",
        required=True,
        help="output file; format from the extension: .csv .parquet .sav .dta",
    )
    p.add_argument(
        "--params", default=None, help="assumptions file (default: studies/baclofen_ckd.synth.yaml)"
    )
    p.add_argument(
        "--chunk-size",
        type=_positive,
        default=None,
        help="rows per generated chunk (default: from the parameters file)",
    )
    _add_study(p)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser(
        "validate",
        help="check a data file against the study file",
        description="Report every problem in one pass; exit 2 if any error.",
    )
    _add_input(p)
    p.add_argument("--json-out", default=None, help="also write the report as JSON")
    _add_study(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("derive", help="derive the analysis cohort (drops identifiers)")
    _add_input(p)
    p.add_argument("--out", required=True, help="cohort file (.parquet recommended)")
    p.add_argument("--flow", default=None, help="write the inclusion flow table as JSON")
    p.add_argument(
        "--validated",
        default=None,
        help="validation JSON of this input from `validate --json-out`: if it "
        "found no errors, the input is not validated again",
    )
    _add_study(p)
    p.set_defaults(func=cmd_derive)

    p = sub.add_parser("result", help="compute one table or model of the study as results JSON")
    p.add_argument("cohort", help="derived cohort file")
    p.add_argument("--id", required=True, help="table or model id from the study file")
    p.add_argument("--out", required=True, help="results JSON path")
    p.add_argument(
        "--listing-max-rows",
        type=int,
        default=None,
        help="a listing keeps only its first this many cases (default: all)",
    )
    _add_policy(p)
    _add_study(p)
    p.set_defaults(func=cmd_result)

    p = sub.add_parser("render", help="render a results JSON as Markdown, CSV, HTML, Word or Excel")
    p.add_argument("result")
    p.add_argument("--out-base", required=True, help="path without extension")
    _add_formats(p)
    _add_listing_cap(p)
    _add_number_style(p)
    _add_disclosure(p)
    _add_study(p)
    p.set_defaults(func=cmd_render)

    p = sub.add_parser(
        "sensitivity",
        help="run one sensitivity analysis the study file declares",
        description="Run the study file's sensitivity analysis --id on the derived cohort "
        "and write its results JSON (ending in whether the paper's conclusion holds).",
    )
    p.add_argument("cohort", help="derived cohort file")
    p.add_argument("--id", required=True, help="id of a sensitivity: entry of the study file")
    p.add_argument("--results", nargs="*", default=[], help="the tables' and models' results")
    p.add_argument("--out", required=True, help="results JSON path")
    p.add_argument("--workers", type=_positive, default=2, help="processes (bootstrap)")
    _add_study(p)
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser(
        "scorecard",
        help="every published figure beside the regenerated one",
        description="Compare each figure the study file's published list states with this "
        "run's value, under its tolerance; write reproduction.html/.md and a JSON.",
    )
    p.add_argument("--results", nargs="+", required=True, help="results JSON files")
    p.add_argument("--flow", default=None, help="flow.json (the number analysed)")
    p.add_argument("--data-label", default="", help="one line describing the data")
    p.add_argument("--html", required=True)
    p.add_argument("--md", required=True)
    p.add_argument("--json", required=True)
    _add_disclosure(p)
    _add_study(p)
    p.set_defaults(func=cmd_scorecard)

    p = sub.add_parser(
        "manuscript",
        help="every table in one Word document, one Excel workbook and one LaTeX file",
        description="Write the study's tables, numbered and in order, into one document "
        "per format (the files an author submits).",
    )
    p.add_argument("--results", nargs="+", required=True, help="results JSON files")
    p.add_argument("--docx", default=None, help="Word document of all tables")
    p.add_argument("--xlsx", default=None, help="Excel workbook, one sheet per table")
    p.add_argument("--tex", default=None, help="LaTeX document of all tables")
    _add_listing_cap(p)
    _add_number_style(p)
    _add_disclosure(p)
    _add_study(p)
    p.set_defaults(func=cmd_manuscript)

    p = sub.add_parser(
        "tables",
        help="data + study file -> every table and model",
        description="Derive the cohort, then write one results JSON per table "
        "and model plus its renderings (--formats) into DIR.",
    )
    _add_input(p)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--only", nargs="+", default=None, help="only these table/model ids")
    _add_policy(p)
    _add_formats(p)
    _add_listing_cap(p)
    _add_number_style(p)
    _add_disclosure(p)
    _add_study(p)
    p.set_defaults(func=cmd_tables)

    p = sub.add_parser("figures", help="draw the report's figures")
    p.add_argument("cohort")
    p.add_argument("--out-dir", required=True)
    p.add_argument(
        "--results", nargs="*", default=[], help="results JSON of the models figures draw"
    )
    p.add_argument("--flow", default=None, help="flow.json, for a flow figure")
    p.add_argument(
        "--fit-models",
        action="store_true",
        help="fit the models the figures need that --results does not give (as the result "
        "step does), so the figures need not wait for the tables",
    )
    _add_disclosure(p)
    _add_study(p)
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("report", help="assemble report.html/.md and provenance.json")
    p.add_argument("--results", nargs="+", required=True, help="results JSON files")
    p.add_argument("--flow", default=None)
    p.add_argument("--figures", nargs="*", default=[])
    p.add_argument(
        "--sensitivity", nargs="*", default=[], help="sensitivity analyses' results JSON"
    )
    p.add_argument("--inputs", nargs="*", default=[], help="files to checksum in provenance")
    p.add_argument("--data-label", default="", help="one line describing the data")
    p.add_argument("--validation", default=None, help="validation JSON (its warnings are listed)")
    p.add_argument("--out", required=True, help="report.html path")
    p.add_argument(
        "--settings-sha256",
        default=None,
        help="checksum of the run's configuration, recorded in provenance.json",
    )
    _add_listing_cap(p)
    _add_number_style(p)
    _add_disclosure(p)
    _add_study(p)
    p.set_defaults(func=cmd_report)
    p = sub.add_parser(
        "batch",
        help="run several steps in one process (the workflow's grouped jobs)",
        description="Run the steps, a JSON list of argument lists, in one process and in "
        'order; stop at the first that fails. E.g. batch \'[["result", "c.parquet", '
        '"--id", "table1", "--out", "t1.json"], ["result", ...]]\'',
    )
    p.add_argument("steps", help="JSON list of steps, each a list of arguments")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser(
        "share", help="a site's aggregate bundle for a multi-site study (no patient rows)"
    )
    _add_site_input(p, out="bundle file (.json)")
    p.add_argument("--summary", default=None, help="what leaves, for review (default: OUT.md)")
    p.set_defaults(func=cmd_share)

    p = sub.add_parser("share-round", help="a site's score and information at a round's estimates")
    _add_site_input(p, out="contribution file (.json)")
    p.add_argument("--round", required=True, help="the coordinator's round file")
    p.set_defaults(func=cmd_share_round)

    p = sub.add_parser("pool-round", help="the coordinator's next round of the distributed fit")
    p.add_argument("bundles", nargs="+", help="the sites' bundles")
    p.add_argument("--previous", default=None, help="the last round (none: start at round 0)")
    p.add_argument("--contributions", nargs="*", default=[], help="each site's answer to it")
    p.add_argument("--out", required=True, help="round file (.json)")
    _add_site_disclosure(p)
    _add_study(p)
    p.set_defaults(func=cmd_pool_round)

    p = sub.add_parser("pool", help="pooled tables and models from the sites' bundles")
    p.add_argument("bundles", nargs="+", help="the sites' bundles")
    p.add_argument("--rounds", default=None, help="the last round of the distributed fit")
    p.add_argument("--out", required=True, help="output directory")
    _add_site_disclosure(p)
    _add_study(p)
    p.set_defaults(func=cmd_pool)

    p = sub.add_parser(
        "run",
        help="run the whole workflow (what `make report` does)",
        description="Check the input files exist, clear a lock left by an interrupted run, "
        "then run Snakemake on the synthetic cohort or on DATA (+ MAPPING). Paths are passed "
        "to Snakemake as a config file, never through a shell.",
    )
    p.add_argument("--data", default=None, help="data file (default: the synthetic cohort)")
    p.add_argument("--mapping", default=None, help="site mapping file")
    p.add_argument(
        "--study",
        default=None,
        help="study file describing DATA (default: the configuration's, the baclofen study)",
    )
    p.add_argument("--cores", type=_positive, default=2)
    p.add_argument(
        "--n",
        type=_optional_positive,
        default=None,
        help="patients in the synthetic cohort (default: config's, 401); e.g. 10000000",
    )
    p.add_argument(
        "--disclosure",
        default=None,
        type=_optional_choice("threshold", "opensafely"),
        help="disclosure-control profile for every output (default: config's, off)",
    )
    p.add_argument(
        "--number-style",
        default=None,
        type=_optional_choice("paper", "ama", "lancet"),
        help="journal number style for every output (default: config's, else the study's)",
    )
    p.add_argument(
        "snakemake", nargs=argparse.REMAINDER, help="further Snakemake options, after --"
    )
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except AnalysisError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # `python -m analysis` outside the project's .venv
        if args.debug:
            raise
        print(
            f"error: {exc}: this Python lacks the project's packages; run "
            ".venv/bin/python -m analysis (make setup creates .venv)",
            file=sys.stderr,
        )
        return 2
    except OSError as exc:  # a full disk, a read-only folder, a directory given as a file
        if args.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
