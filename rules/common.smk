# Helpers shared by the rules: where the input comes from, which outputs exist, and the
# content checksums that make Snakemake rerun a step whenever what it reads changes.
#
# Files named by the user (study, data, mapping, synthetic assumptions) are passed to the
# steps as params, never as shell text: every value is quoted with `:q`, and each rule
# carries the inputs' checksums as a param, so Snakemake's params rerun trigger fires on
# any change of content, whatever the modification times say.

import json
import sys
from pathlib import Path

from analysis.errors import AnalysisError
from analysis.fingerprint import file_sha256, run_fingerprint
from analysis.study import load_study
from analysis.synth.overlay import overlay_files
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
# configuration (a report made with other settings is stale too). The multi-site study's
# settings are its own rules' business: changing them leaves the single-site report; and
# split_jobs only cuts the same steps into other jobs (a cluster's report is byte-identical
# to one machine's).
NOT_SETTINGS = ("multisite", "split_jobs")
FINGERPRINT = run_fingerprint(
    {
        "study": STUDY_FILE,
        "data": DATA_FILE,
        "mapping": MAPPING,
        "synthetic_params": SYNTH_PARAMS,
        "published": PUBLISHED_FILE,
    },
    {key: value for key, value in config.items() if key not in NOT_SETTINGS},
)
FILES_SHA256 = " ".join(
    f"{role}={entry['sha256']}"
    for role, entry in FINGERPRINT["files"].items()
    if entry is not None
)
CODE_SHA256 = FINGERPRINT["code"]


def input_options():
    """CLI options for reading the input (mapping file, reader settings)."""
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


# Patients the steps read: the synthetic n, or a site file's size over the fewest bytes a
# row takes on disk (Parquet, about 30), so a cluster job never asks for too little.
ROWS = (
    config["synthetic"]["n"]
    if SYNTHETIC
    else max(1, Path(DATA_FILE).stat().st_size // 30)
)


def mem_mb(base, per_million_rows=0):
    """A step's memory request: ``base`` MB plus what it was measured to need per million
    patients (benchmarks/README.md). A cluster kills a job that exceeds it; one machine
    only uses it with --resources mem_mb=..."""
    return int(base + per_million_rows * ROWS / 1_000_000)


# --------------------------------------------------------------------------------------
# The steps. Each is the argument list of one `python -m analysis` verb. A split job
# (split_jobs: true, clusters) runs one step; a grouped job (the default on one machine)
# runs several in one process through `analysis batch`, paying the start-up once. The
# steps are the same either way, so are the outputs. Every item reaches the shell quoted.
# --------------------------------------------------------------------------------------
SPLIT_JOBS = str(config.get("split_jobs", False)).lower() == "true"
VALIDATION = "results/validation.json"
COHORT = "results/cohort.parquet"
FLOW = "results/flow.json"
RESULT = "results/tables/{output_id}.json"
RESULTS = expand(RESULT, output_id=OUTPUT_IDS)
RENDERED_BASE = "reports/tables/{output_id}"
RENDERED = "reports/tables/{output_id}.{fmt}"
SENSITIVITY = "results/sensitivity/{analysis}.json"
SENSITIVITY_RESULTS = expand(SENSITIVITY, analysis=SENSITIVITY_IDS)
MANUSCRIPT = {
    "docx": "reports/tables.docx",
    "xlsx": "reports/tables.xlsx",
    "tex": "reports/tables.tex",
}
SCORECARD_FILES = {
    "html": "reports/reproduction.html",
    "md": "reports/reproduction.md",
    "json": "results/scorecard.json",
}


def batch(*steps):
    """One `analysis batch` command running ``steps`` in order (one JSON argument)."""
    return ["batch", json.dumps(list(steps))]


def synth_step():
    return [
        "synth", "--n", str(config["synthetic"]["n"]), "--seed", str(config["synthetic"]["seed"]),
        "--params", SYNTH_PARAMS, "--study", STUDY_FILE, "--out", INPUT_DATA,
    ]  # fmt: skip


def validate_step():
    return [
        "validate", INPUT_DATA, "--study", STUDY_FILE, *input_options(),
        "--json-out", VALIDATION,
    ]  # fmt: skip


def derive_step():
    return [
        "derive", INPUT_DATA, "--study", STUDY_FILE, *input_options(),
        "--validated", VALIDATION, "--out", COHORT, "--flow", FLOW,
    ]  # fmt: skip


def result_step(output_id):
    return [
        "result", COHORT, "--study", STUDY_FILE, "--id", output_id,
        "--out", RESULT.format(output_id=output_id),
        "--listing-max-rows", str(LISTING_MAX_ROWS),
    ]  # fmt: skip


def render_step(output_id):
    return [
        "render", RESULT.format(output_id=output_id),
        "--out-base", RENDERED_BASE.format(output_id=output_id),
        "--study", STUDY_FILE, "--formats", *config["formats"],
        "--listing-max-rows", str(LISTING_MAX_ROWS), *DISPLAY_OPTIONS,
    ]  # fmt: skip


def manuscript_step():
    return [
        "manuscript", "--results", *RESULTS, "--study", STUDY_FILE,
        *(item for fmt, path in MANUSCRIPT.items() for item in (f"--{fmt}", path)),
        "--listing-max-rows", str(LISTING_MAX_ROWS), *DISPLAY_OPTIONS,
    ]  # fmt: skip


def scorecard_step():
    return [
        "scorecard", "--study", STUDY_FILE, "--results", *RESULTS, "--flow", FLOW,
        "--data-label", data_label(),
        *(item for kind, path in SCORECARD_FILES.items() for item in (f"--{kind}", path)),
        *DISCLOSURE_OPTIONS,
    ]  # fmt: skip


def sensitivity_step(analysis, workers, results=RESULTS):
    """Given no ``results``, the analysis computes the tables and model it compares with
    itself (the same numbers, checked byte for byte) and need not wait for them."""
    return [
        "sensitivity", COHORT, "--study", STUDY_FILE, "--id", analysis,
        *(["--results", *results] if results else []), "--workers", str(workers),
        "--out", SENSITIVITY.format(analysis=analysis),
    ]  # fmt: skip


# --------------------------------------------------------------------------------------
# The multi-site study (rules/multisite.smk, docs/multisite.md): simulated sites, or the
# bundles received from real sites.
# --------------------------------------------------------------------------------------
MULTISITE = config.get("multisite") or {}
MS_SITES = {site["name"]: site for site in MULTISITE.get("sites", [])}
if len(MS_SITES) != len(MULTISITE.get("sites", [])):
    _refuse("multisite.sites: two sites have the same name")
MS_RECEIVED = [
    _existing("multisite.bundles", b) for b in MULTISITE.get("bundles") or []
]
MS_ROUNDS = int(MULTISITE.get("rounds", 5))
MS_DISCLOSURE = ["--disclosure", MULTISITE.get("disclosure", "threshold")]
MS_SITE_DATA = "results/multisite/sites/{site}/data.parquet"
MS_BUNDLE = "results/multisite/bundles/{site}.json"
MS_ROUND = "results/multisite/rounds/round_{r}.json"
MS_CONTRIBUTION = "results/multisite/rounds/{r}/{site}.json"
MS_BUNDLES = MS_RECEIVED or expand(MS_BUNDLE, site=MS_SITES)
MS_FINAL_ROUND = [] if MS_RECEIVED else [MS_ROUND.format(r=MS_ROUNDS)]
MS_SITE_FILES = {
    name: _existing(f"multisite.sites[{name}].params", site["params"])
    for name, site in MS_SITES.items()
}


def site_synth_step(wildcards):
    site = MS_SITES[wildcards.site]
    return [
        "synth", "--n", str(site["n"]), "--seed", str(site["seed"]),
        "--params", site["params"], "--study", STUDY_FILE,
        "--out", MS_SITE_DATA.format(site=wildcards.site),
    ]  # fmt: skip
