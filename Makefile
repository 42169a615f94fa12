# The two commands of the README:
#   make report   set up .venv, run the whole workflow on the synthetic cohort
#   make test     set up .venv, lint, run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
# make report DATA=data_raw/site.parquet  runs on a site's file instead
# make report DATA=data_raw/site.sav MAPPING=config/site.yaml  adds a site mapping
DATA ?=
MAPPING ?=
# make report DATA=my.csv STUDY=studies/mine.yaml  another study (docs/study-file.md)
STUDY ?=
# make report DISCLOSURE=threshold  protects everything under reports/ for sharing (or opensafely)
# make report NUMBER_STYLE=lancet   prints p-values and decimals in a journal's style
DISCLOSURE ?=
NUMBER_STYLE ?=
# make report N=10000000   a synthetic cohort of that many patients (default: config's 401)
N ?=
# make share DATA=data_raw/site.sav SITE=seoul [MAPPING=...]  a site's bundle for a
# multi-site study: results/share/SITE.json and SITE.md (docs/multisite.md)
SITE ?=
# The paths travel as environment variables, taken literally ($(value ...) stops make from
# expanding them), and reach Snakemake as a config file written by `analysis run`: no file
# name is ever read by a shell as a command.
export ANALYSIS_DATA := $(value DATA)
export ANALYSIS_MAPPING := $(value MAPPING)
export ANALYSIS_STUDY := $(value STUDY)
export ANALYSIS_CORES := $(value CORES)
export ANALYSIS_DISCLOSURE := $(value DISCLOSURE)
export ANALYSIS_NUMBER_STYLE := $(value NUMBER_STYLE)
export ANALYSIS_N := $(value N)
export ANALYSIS_SITE := $(value SITE)
# The rules call `python -m analysis`: the environment's python comes first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup report multisite share unlock test lint format clean bench help system-packages

help:
	@echo "make report | make test | make multisite | make lint | make bench | make unlock | make clean"

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

setup: $(STAMP)

report: $(STAMP)
	$(BIN)/python -m analysis run --cores "$$ANALYSIS_CORES" --data "$$ANALYSIS_DATA" --mapping "$$ANALYSIS_MAPPING" \
		--study "$$ANALYSIS_STUDY" --disclosure "$$ANALYSIS_DISCLOSURE" \
		--number-style "$$ANALYSIS_NUMBER_STYLE" --n "$$ANALYSIS_N"
	@echo "Report: reports/report.html  (tables: reports/tables/, figures: reports/figures/)"

# The multi-site study (docs/multisite.md): three synthetic sites each share an aggregate
# bundle, the coordinator pools them. reports/multisite/report.html
multisite: $(STAMP)
	$(BIN)/python -m analysis run --cores "$$ANALYSIS_CORES" -- multisite
	@echo "Multi-site report: reports/multisite/report.html  (bundles: results/multisite/bundles/)"

share: $(STAMP)
	$(BIN)/python -m analysis share "$$ANALYSIS_DATA" --mapping "$$ANALYSIS_MAPPING" --site "$$ANALYSIS_SITE" \
		--out "results/share/$$ANALYSIS_SITE.json"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(BIN)/snakemake --lint --cores 1 > /dev/null

format: $(STAMP)
	$(BIN)/snakefmt Snakefile rules/
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Chromium, LibreOffice, pdftotext, pdflatex and a single-node Slurm (munge, slurmctld, slurmd) for the
# tests that run outputs and the workflow in real tools: installed with apt-get when missing and root,
# else the script says why not and those tests skip.
system-packages:
	bash tests/tools/install-system-packages.sh

test: $(STAMP) lint system-packages
	$(BIN)/python -m pytest

# The benchmarks run in their own environment (the lock plus the peers they time,
# benchmarks/requirements.txt), so the product never depends on the peers.
BENCH_VENV := benchmarks/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): benchmarks/requirements.txt requirements.lock pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/bench_synth.py
	$(BENCH_VENV)/bin/python benchmarks/bench_table2.py

# After a crash: clear Snakemake's lock (`make report` does this itself when no run is active).
unlock: $(STAMP)
	$(BIN)/snakemake --unlock --cores 1

clean:
	rm -rf results reports logs benchmarks/out .snakemake/log .snakemake/metadata \
		.snakemake/incomplete .snakemake/locks .snakemake/shadow
