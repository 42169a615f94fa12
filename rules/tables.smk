# One job per table or model (independent, so a cluster runs them in parallel),
# then one rendering job per result.


rule result:
    input:
        cohort="results/cohort.parquet",
        study=STUDY_FILE,
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
    shell:
        "python -m analysis result {input.cohort} --study {input.study} "
        "--id {wildcards.output_id} --out {output} > {log} 2>&1"


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
        base=output_base,
        formats=" ".join(config["formats"]),
    shell:
        "python -m analysis render {input} --out-base {params.base} "
        "--formats {params.formats} > {log} 2>&1"
