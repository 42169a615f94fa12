# Figures and the assembled report.


rule figures:
    input:
        cohort="results/cohort.parquet",
        study=STUDY_FILE,
    output:
        report(
            expand("reports/figures/{stem}.png", stem=FIGURE_STEMS),
            caption="../docs/figures-caption.rst",
            category="Figures",
        ),
    log:
        "logs/figures.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        out_dir=output_dir,
    shell:
        "python -m analysis figures {input.cohort} --study {input.study} "
        "--out-dir {params.out_dir} > {log} 2>&1"


rule report:
    input:
        results=expand("results/tables/{output_id}.json", output_id=OUTPUT_IDS),
        flow="results/flow.json",
        validation="results/validation.json",
        figures=expand("reports/figures/{stem}.png", stem=FIGURE_STEMS),
        study=STUDY_FILE,
        data=INPUT_DATA,
        mapping=MAPPING_INPUT,
    output:
        html="reports/report.html",
        md="reports/report.md",
        provenance="reports/provenance.json",
    log:
        "logs/report.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        label=data_label(),
    shell:
        "python -m analysis report --study {input.study} --results {input.results} "
        "--flow {input.flow} --validation {input.validation} --figures {input.figures} "
        "--inputs {input.data} {input.study} {input.mapping} "
        "--data-label {params.label:q} --out {output.html} > {log} 2>&1"
