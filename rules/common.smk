# Helpers shared by the rules: where the input comes from, which outputs exist.

from pathlib import Path

from analysis.study import load_study

STUDY_FILE = config["study"]
STUDY = load_study(STUDY_FILE)
OUTPUT_IDS = STUDY.output_ids()
FIGURE_STEMS = [figure["id"] for figure in STUDY.figures]
ENV = "../envs/analysis.yaml"
SYNTHETIC = config["data"] == "synthetic"
INPUT_DATA = "results/synthetic/cohort.parquet" if SYNTHETIC else config["data"]


MAPPING = config.get("mapping") or None
MAPPING_INPUT = [MAPPING] if MAPPING else []


def input_options():
    """CLI options for reading the input: mapping file and reader settings."""
    options = [f"--mapping {MAPPING}"] if MAPPING else []
    for key, value in (config.get("read") or {}).items():
        if value is not None:
            options.append(f"--{key.replace('_', '-')} '{value}'")
    return " ".join(options)


def data_label():
    if SYNTHETIC:
        s = config["synthetic"]
        return f"synthetic cohort, n = {s['n']}, seed {s['seed']}"
    return f"site data: {Path(config['data']).name}"


def output_dir(wildcards, output):
    """Directory of the first output (figures are written into it)."""
    return str(Path(output[0]).parent)


def output_base(wildcards, output):
    """First output without its extension (the renderer adds .md/.csv/.html)."""
    return str(Path(output[0]).with_suffix(""))
