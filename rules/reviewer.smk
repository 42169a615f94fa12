# What a reviewer asks for beyond the tables: every published figure beside ours
# (the scorecard) and the sensitivity analyses the study file declares: one job each
# under split_jobs, else one job for all of them.


if SPLIT_JOBS:

    rule sensitivity:
        input:
            cohort=COHORT,
            results=RESULTS,
        output:
            SENSITIVITY,
        log:
            "logs/sensitivity_{analysis}.log",
        benchmark:
            "logs/benchmarks/sensitivity_{analysis}.tsv"
        wildcard_constraints:
            analysis="|".join(SENSITIVITY_IDS) or "no-analysis",
        conda:
            ENV
        threads: lambda wildcards: 2 if wildcards.analysis in PARALLEL_SENSITIVITY else 1
        resources:
            mem_mb=mem_mb(2000, 1000),
            runtime=60,
            cpus_per_task=lambda wildcards, threads: threads,
        params:
            python=PYTHON,
            step=lambda wildcards, threads: sensitivity_step(
                wildcards.analysis, threads
            ),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"

    rule scorecard:
        input:
            results=RESULTS,
            flow=FLOW,
            published=[PUBLISHED_FILE] if PUBLISHED_FILE else [],
        output:
            **SCORECARD_FILES,
        log:
            "logs/scorecard.log",
        benchmark:
            "logs/benchmarks/scorecard.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=15,
            cpus_per_task=lambda wildcards, threads: threads,
        params:
            python=PYTHON,
            step=scorecard_step(),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"

else:

    # Beside the tables job, not after it: the analyses compute the few results they
    # compare with themselves, and the bootstrap takes one worker, leaving the other core
    # to the tables and figures.
    rule sensitivity_all:
        input:
            cohort=COHORT,
        output:
            SENSITIVITY_RESULTS,
        log:
            "logs/sensitivity.log",
        benchmark:
            "logs/benchmarks/sensitivity.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=mem_mb(2000, 1000),
            runtime=120,
            cpus_per_task=lambda wildcards, threads: threads,
        params:
            python=PYTHON,
            step=batch(*(sensitivity_step(a, 1, results=None) for a in SENSITIVITY_IDS)),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"
