# Input data: synthetic generation, validation, cohort derivation.
# Paths and values reach the shell only through `:q` (each quoted; lists item by item).
# Each rule's `benchmark` file records its wall time and peak memory (benchmarks/README.md);
# its resources are what a cluster job asks for: cpus_per_task (its threads), mem_mb
# (grown with the cohort as measured there) and runtime in minutes.


rule synth:
    output:
        "results/synthetic/cohort.parquet",
    log:
        "logs/synth.log",
    benchmark:
        "logs/benchmarks/synth.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        python=PYTHON,
        study=STUDY_FILE,
        assumptions=SYNTH_PARAMS,
        n=config["synthetic"]["n"],
        seed=config["synthetic"]["seed"],
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis synth --n {params.n:q} --seed {params.seed:q} "
        "--params {params.assumptions:q} --study {params.study:q} --out {output:q} "
        "> {log:q} 2>&1"


if SPLIT_JOBS:

    rule validate:
        input:
            GENERATED_DATA,
        output:
            VALIDATION,
        log:
            "logs/validate.log",
        benchmark:
            "logs/benchmarks/validate.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=mem_mb(1000, 2000),
            runtime=30,
            cpus_per_task=lambda wildcards, threads: threads,
        params:
            python=PYTHON,
            step=validate_step(),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"

    rule derive:
        input:
            GENERATED_DATA,
            validation=VALIDATION,
        output:
            cohort=COHORT,
            flow=FLOW,
        log:
            "logs/derive.log",
        benchmark:
            "logs/benchmarks/derive.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=mem_mb(1000, 2000),
            runtime=30,
            cpus_per_task=lambda wildcards, threads: threads,
        params:
            python=PYTHON,
            step=derive_step(),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"

else:

    # One machine: validation and derivation in one process (one start-up).
    rule cohort:
        input:
            GENERATED_DATA,
        output:
            validation=VALIDATION,
            cohort=COHORT,
            flow=FLOW,
        log:
            "logs/cohort.log",
        benchmark:
            "logs/benchmarks/cohort.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=mem_mb(1000, 2000),
            runtime=30,
            cpus_per_task=lambda wildcards, threads: threads,
        params:
            python=PYTHON,
            step=batch(validate_step(), derive_step()),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"
