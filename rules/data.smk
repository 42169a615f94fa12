# Input data: synthetic generation, validation, cohort derivation.


rule synth:
    input:
        study=STUDY_FILE,
        assumptions=config["synthetic"]["params"],
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
        n=config["synthetic"]["n"],
        seed=config["synthetic"]["seed"],
    shell:
        "python -m analysis synth --n {params.n} --seed {params.seed} "
        "--params {input.assumptions} --study {input.study} --out {output} > {log} 2>&1"


rule validate:
    input:
        data=INPUT_DATA,
        study=STUDY_FILE,
        mapping=MAPPING_INPUT,
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
        options=input_options(),
    shell:
        "python -m analysis validate {input.data} --study {input.study} {params.options} "
        "--json-out {output} > {log} 2>&1"


rule derive:
    input:
        data=INPUT_DATA,
        study=STUDY_FILE,
        validation="results/validation.json",
        mapping=MAPPING_INPUT,
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
        options=input_options(),
    shell:
        "python -m analysis derive {input.data} --study {input.study} {params.options} "
        "--validated {input.validation} --out {output.cohort} --flow {output.flow} > {log} 2>&1"
