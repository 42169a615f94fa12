# Input data: synthetic generation, validation, cohort derivation.
# Paths and values reach the shell only through `:q` (each quoted; lists item by item).
# Each rule's `benchmark` file records its wall time and peak memory (benchmarks/README.md);
# its resources are what a cluster job asks for: cpus_per_task (its threads), mem_mb
# (grown with the cohort as measured there) and runtime in minutes.


if SPLIT_JOBS:

    rule synth:
        output:
            INPUT_DATA,
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
            step=synth_step(),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"

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

    # One machine: generation (synthetic default), validation and derivation in one
    # process (one start-up); the generated file is written, then read back and validated
    # as a site's file would be.
    rule cohort:
        output:
            GENERATED_DATA,
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
            step=batch(
                *([synth_step()] if SYNTHETIC else []), validate_step(), derive_step()
            ),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"
