# What a reviewer asks for beyond the tables: every published figure beside ours
# (the scorecard) and the sensitivity analyses the study file declares, one job each.


rule sensitivity:
    input:
        cohort="results/cohort.parquet",
        results=expand("results/tables/{output_id}.json", output_id=OUTPUT_IDS),
    output:
        "results/sensitivity/{analysis}.json",
    log:
        "logs/sensitivity_{analysis}.log",
    wildcard_constraints:
        analysis="|".join(SENSITIVITY_IDS) or "no-analysis",
    conda:
        ENV
    threads: lambda wildcards: 2 if wildcards.analysis in PARALLEL_SENSITIVITY else 1
    resources:
        mem_mb=2000,
    params:
        python=PYTHON,
        study=STUDY_FILE,
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis sensitivity {input.cohort:q} --study {params.study:q} "
        "--id {wildcards.analysis:q} --results {input.results:q} --workers {threads} "
        "--out {output:q} > {log:q} 2>&1"


rule scorecard:
    input:
        results=expand("results/tables/{output_id}.json", output_id=OUTPUT_IDS),
        flow="results/flow.json",
        published=[PUBLISHED_FILE] if PUBLISHED_FILE else [],
    output:
        html="reports/reproduction.html",
        md="reports/reproduction.md",
        json="results/scorecard.json",
    log:
        "logs/scorecard.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        python=PYTHON,
        study=STUDY_FILE,
        label=data_label(),
        disclosure=DISCLOSURE_OPTIONS,
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis scorecard --study {params.study:q} --results {input.results:q} "
        "--flow {input.flow:q} --data-label {params.label:q} --html {output.html:q} "
        "--md {output.md:q} --json {output.json:q} {params.disclosure:q} > {log:q} 2>&1"
