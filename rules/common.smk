# Helpers shared by the rules: where the input comes from, which outputs exist.

import sys
from pathlib import Path

from analysis.study import load_study

STUDY_FILE = config["study"]
STUDY = load_study(STUDY_FILE)
OUTPUT_IDS = STUDY.output_ids()
FIGURE_STEMS = [figure["id"] for figure in STUDY.figures]
PY = sys.executable
ENV = "../envs/analysis.yaml"
SYNTHETIC = config["data"] == "synthetic"
INPUT_DATA = "results/synthetic/cohort.parquet" if SYNTHETIC else config["data"]


def data_label():
    if SYNTHETIC:
        s = config["synthetic"]
        return f"synthetic cohort, n = {s['n']}, seed {s['seed']}"
    return f"site data: {Path(config['data']).name}"
