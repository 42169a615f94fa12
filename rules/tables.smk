# The tables and models, their renderings and the combined manuscript files.
# split_jobs: one job per table or model and per rendering (a cluster runs them side by
# side); otherwise one `tables` job computes, renders and scores them all.


if SPLIT_JOBS:

    rule result:
        input:
            cohort=COHORT,
        output:
            RESULT,
        log:
            "logs/result_{output_id}.log",
        benchmark:
            "logs/benchmarks/result_{output_id}.tsv"
        wildcard_constraints:
            output_id="|".join(OUTPUT_IDS),
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=mem_mb(1000, 1000),
            runtime=30,
            cpus_per_task=lambda wildcards, threads: threads,
        params:
            python=PYTHON,
            step=lambda wildcards: result_step(wildcards.output_id),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"

    rule render:
        input:
            RESULT,
        output:
            expand(RENDERED, output_id="{output_id}", fmt=config["formats"]),
        log:
            "logs/render_{output_id}.log",
        benchmark:
            "logs/benchmarks/render_{output_id}.tsv"
        wildcard_constraints:
            output_id="|".join(OUTPUT_IDS),
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=15,
            cpus_per_task=lambda wildcards, threads: threads,
        params:
            python=PYTHON,
            step=lambda wildcards: render_step(wildcards.output_id),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"

    rule manuscript:
        input:
            RESULTS,
        output:
            **MANUSCRIPT,
        log:
            "logs/manuscript.log",
        benchmark:
            "logs/benchmarks/manuscript.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=15,
            cpus_per_task=lambda wildcards, threads: threads,
        params:
            python=PYTHON,
            step=manuscript_step(),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"

else:

    rule tables:
        input:
            cohort=COHORT,
            flow=FLOW,
            published=[PUBLISHED_FILE] if PUBLISHED_FILE else [],
        output:
            results=RESULTS,
            rendered=expand(RENDERED, output_id=OUTPUT_IDS, fmt=config["formats"]),
            manuscript=MANUSCRIPT.values(),
            scorecard=SCORECARD_FILES.values() if SCORECARD else [],
        log:
            "logs/tables.log",
        benchmark:
            "logs/benchmarks/tables.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=mem_mb(1000, 1000),
            runtime=60,
            cpus_per_task=lambda wildcards, threads: threads,
        params:
            python=PYTHON,
            step=batch(
                *(result_step(output_id) for output_id in OUTPUT_IDS),
                *(render_step(output_id) for output_id in OUTPUT_IDS),
                manuscript_step(),
                *([scorecard_step()] if SCORECARD else []),
            ),
            files_sha256=FILES_SHA256,
            code_sha256=CODE_SHA256,
        shell:
            "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"
