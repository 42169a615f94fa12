# Helpers shared by the rules: where the input comes from, which outputs exist, and the
# content checksums that make Snakemake rerun a step whenever what it reads changes.
#
# Files named by the user (study, data, mapping, synthetic assumptions) are passed to the
# steps as params, never as shell text: every value is quoted with `:q`, and each rule
# carries the inputs' checksums as a param, so Snakemake's params rerun trigger fires on
# any change of content, whatever the modification times say.

import sys
from pathlib import Path

from analysis.errors import AnalysisError
from analysis.fingerprint import run_fingerprint
from analysis.study import load_study
from analysis.workflow import remove_stale_report
from snakemake.settings.types import DeploymentMethod


def _refuse(message):
    """One line on stderr and exit status 2, before any job runs."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _existing(option, value):
    if value is None:
        return None
    path = Path(value)
    if not path.is_file():
        _refuse(
            f"{option}: {value}: {'not a file' if path.exists() else 'file not found'}"
        )
    return value


SYNTHETIC = config["data"] == "synthetic"
STUDY_FILE = _existing("study", config["study"])
DATA_FILE = None if SYNTHETIC else _existing("data", config["data"])
MAPPING = _existing("mapping", config.get("mapping") or None)
SYNTH_PARAMS = (
    _existing("synthetic.params", config["synthetic"]["params"]) if SYNTHETIC else None
)
INPUT_DATA = "results/synthetic/cohort.parquet" if SYNTHETIC else DATA_FILE
# The generated cohort is a workflow file (an input); a site's file is referenced by content.
GENERATED_DATA = [INPUT_DATA] if SYNTHETIC else []
LISTING_MAX_ROWS = config.get("listing_max_rows", 500)

try:
    STUDY = load_study(STUDY_FILE)
except AnalysisError as exc:
    _refuse(exc)
OUTPUT_IDS = STUDY.output_ids()
FIGURE_STEMS = [figure["id"] for figure in STUDY.figures]
SENSITIVITY_IDS = [entry["id"] for entry in STUDY.sensitivity]
# Analyses that use both cores (the bootstrap's resamples are fitted in parallel).
PARALLEL_SENSITIVITY = {
    e["id"] for e in STUDY.sensitivity if e["analysis"] == "bootstrap"
}
_published = STUDY.raw.get("published")
PUBLISHED_FILE = (
    str(Path(STUDY_FILE).parent / _published["file"])
    if isinstance(_published, dict) and "file" in _published
    else None
)
SCORECARD = bool(_published)
# Options the rendering steps pass on (lists: each item is quoted on its own).
DISCLOSURE_OPTIONS = (
    ["--disclosure", config["disclosure"]] if config.get("disclosure") else []
)
DISPLAY_OPTIONS = (
    ["--number-style", config["number_style"]] if config.get("number_style") else []
) + DISCLOSURE_OPTIONS
ENV = "../envs/analysis.yaml"
# The interpreter every step runs: the one running Snakemake (the project's .venv), so
# `.venv/bin/snakemake` works without an activated environment; with --use-conda, the
# environment's own `python`, which Snakemake puts first on PATH.
_SETTINGS = workflow.deployment_settings
PYTHON = (
    "python"
    if _SETTINGS is not None and DeploymentMethod.CONDA in _SETTINGS.deployment_method
    else sys.executable
)

# What every result depends on: the named files' content, the package's code and the
# configuration (a report made with other settings is stale too).
FINGERPRINT = run_fingerprint(
    {
        "study": STUDY_FILE,
        "data": DATA_FILE,
        "mapping": MAPPING,
        "synthetic_params": SYNTH_PARAMS,
        "published": PUBLISHED_FILE,
    },
    config,
)
FILES_SHA256 = " ".join(
    f"{role}={entry['sha256']}"
    for role, entry in FINGERPRINT["files"].items()
    if entry is not None
)
CODE_SHA256 = FINGERPRINT["code"]


def input_data(wildcards, input):
    """The file validate and derive read: the generated cohort or the site's file."""
    return input[0] if SYNTHETIC else DATA_FILE


def input_options():
    """CLI options for reading the input (mapping file, reader settings) (quoted item by item with `:q` in the rules)."""
    options = ["--mapping", MAPPING] if MAPPING else []
    for key, value in (config.get("read") or {}).items():
        if value is not None:
            options += [f"--{key.replace('_', '-')}", str(value)]
    return options


def report_inputs():
    """The files the report checksums in its provenance (quoted item by item with `:q`)."""
    return [
        p for p in (INPUT_DATA, STUDY_FILE, MAPPING, SYNTH_PARAMS, PUBLISHED_FILE) if p
    ]


def data_label():
    if SYNTHETIC:
        s = config["synthetic"]
        return f"synthetic cohort, n = {s['n']}, seed {s['seed']}"
    return f"site data: {Path(DATA_FILE).name}"


def output_dir(wildcards, output):
    """Directory of the first output (figures are written into it)."""
    return str(Path(output[0]).parent)


def output_base(wildcards, output):
    """First output without its extension (the renderer adds .md/.csv/.html)."""
    return str(Path(output[0]).with_suffix(""))
