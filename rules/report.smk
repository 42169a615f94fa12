# Figures and the assembled report.


# On one machine the figures fit the model they draw themselves (the same numbers the
# tables job writes), so they run beside the tables instead of after them; split jobs
# (clusters) read the model's results file.
rule figures:
    input:
        cohort=COHORT,
        results=RESULTS if SPLIT_JOBS else [],
        flow=FLOW,
    output:
        report(
            expand("reports/figures/{stem}.png", stem=FIGURE_STEMS),
            caption="../docs/figures-caption.rst",
            category="Figures",
        ),
        expand("reports/figures/{stem}.svg", stem=FIGURE_STEMS),
    log:
        "logs/figures.log",
    benchmark:
        "logs/benchmarks/figures.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(1000, 1000),
        runtime=30,
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        python=PYTHON,
        study=STUDY_FILE,
        out_dir=output_dir,
        models=lambda w, input: (
            ["--results", *input.results] if SPLIT_JOBS else ["--fit-models"]
        ),
        disclosure=DISCLOSURE_OPTIONS,
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis figures {input.cohort:q} --study {params.study:q} "
        "{params.models:q} --flow {input.flow:q} "
        "--out-dir {params.out_dir:q} {params.disclosure:q} > {log:q} 2>&1"


rule report:
    input:
        GENERATED_DATA,
        results=RESULTS,
        flow=FLOW,
        validation=VALIDATION,
        figures=expand("reports/figures/{stem}.png", stem=FIGURE_STEMS),
        sensitivity=SENSITIVITY_RESULTS,
        published=[PUBLISHED_FILE] if PUBLISHED_FILE else [],
    output:
        html="reports/report.html",
        md="reports/report.md",
        provenance="reports/provenance.json",
    log:
        "logs/report.log",
    benchmark:
        "logs/benchmarks/report.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        python=PYTHON,
        study=STUDY_FILE,
        inputs=report_inputs(),
        label=data_label(),
        listing_max_rows=LISTING_MAX_ROWS,
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
        settings_sha256=FINGERPRINT["settings"],
        display=DISPLAY_OPTIONS,
    shell:
        "{params.python:q} -m analysis report --study {params.study:q} --results {input.results:q} "
        "--flow {input.flow:q} --validation {input.validation:q} "
        "--figures {input.figures:q} --sensitivity {input.sensitivity:q} "
        "--inputs {params.inputs:q} "
        "--data-label {params.label:q} --listing-max-rows {params.listing_max_rows:q} "
        "--settings-sha256 {params.settings_sha256:q} --out {output.html:q} "
        "{params.display:q} > {log:q} 2>&1"
