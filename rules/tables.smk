# One job per table or model (independent, so a cluster runs them in parallel),
# then one rendering job per result.


rule result:
    input:
        cohort="results/cohort.parquet",
    output:
        "results/tables/{output_id}.json",
    log:
        "logs/result_{output_id}.log",
    wildcard_constraints:
        output_id="|".join(OUTPUT_IDS),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        python=PYTHON,
        study=STUDY_FILE,
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis result {input.cohort:q} --study {params.study:q} "
        "--id {wildcards.output_id:q} --out {output:q} > {log:q} 2>&1"


rule render:
    input:
        "results/tables/{output_id}.json",
    output:
        expand("reports/tables/{{output_id}}.{fmt}", fmt=config["formats"]),
    log:
        "logs/render_{output_id}.log",
    wildcard_constraints:
        output_id="|".join(OUTPUT_IDS),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        python=PYTHON,
        base=output_base,
        formats=config["formats"],
        listing_max_rows=LISTING_MAX_ROWS,
        study=STUDY_FILE,
        display=DISPLAY_OPTIONS,
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis render {input:q} --out-base {params.base:q} "
        "--study {params.study:q} --formats {params.formats:q} "
        "--listing-max-rows {params.listing_max_rows:q} {params.display:q} > {log:q} 2>&1"


rule manuscript:
    input:
        expand("results/tables/{output_id}.json", output_id=OUTPUT_IDS),
    output:
        docx="reports/tables.docx",
        xlsx="reports/tables.xlsx",
        tex="reports/tables.tex",
    log:
        "logs/manuscript.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        python=PYTHON,
        study=STUDY_FILE,
        listing_max_rows=LISTING_MAX_ROWS,
        display=DISPLAY_OPTIONS,
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis manuscript --results {input:q} --study {params.study:q} "
        "--docx {output.docx:q} --xlsx {output.xlsx:q} --tex {output.tex:q} "
        "--listing-max-rows {params.listing_max_rows:q} {params.display:q} > {log:q} 2>&1"
