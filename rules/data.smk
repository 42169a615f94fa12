# Input data: synthetic generation, validation, cohort derivation.
# Paths and values reach the shell only through `:q` (each quoted; lists item by item).


rule synth:
    output:
        "results/synthetic/cohort.parquet",
    log:
        "logs/synth.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
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


rule validate:
    input:
        GENERATED_DATA,
    output:
        "results/validation.json",
    log:
        "logs/validate.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        python=PYTHON,
        data=input_data,
        study=STUDY_FILE,
        options=input_options(),
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis validate {params.data:q} --study {params.study:q} "
        "{params.options:q} --json-out {output:q} > {log:q} 2>&1"


rule derive:
    input:
        GENERATED_DATA,
        validation="results/validation.json",
    output:
        cohort="results/cohort.parquet",
        flow="results/flow.json",
    log:
        "logs/derive.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        python=PYTHON,
        data=input_data,
        study=STUDY_FILE,
        options=input_options(),
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis derive {params.data:q} --study {params.study:q} "
        "{params.options:q} --validated {input.validation:q} --out {output.cohort:q} "
        "--flow {output.flow:q} > {log:q} 2>&1"
