# Multi-site study (make multisite; docs/multisite.md): each site turns its own patients
# into an aggregate bundle (`share`), the coordinator pools the bundles (`pool`). The
# bundle, and in the exact distributed fit each round's score and information, are the
# only things that pass from a site to the coordinator; each site's jobs read only that
# site's data, so each could run on another machine (a cluster profile's --jobs N).
# The default simulates three synthetic sites with different case-mix; `bundles:` in the
# configuration pools bundles received from real sites instead (no distributed fit:
# it needs the sites to answer each round).


rule multisite_site_data:
    output:
        MS_SITE_DATA,
    log:
        "logs/multisite/{site}/data.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        python=PYTHON,
        step=site_synth_step,
        params_sha256=lambda w: " ".join(
            file_sha256(path) for path in overlay_files(MS_SITE_FILES[w.site])
        ),
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis {params.step:q} > {log:q} 2>&1"


rule multisite_share:
    input:
        data=MS_SITE_DATA,
    output:
        bundle=MS_BUNDLE,
        summary="results/multisite/bundles/{site}.md",
    log:
        "logs/multisite/{site}/share.log",
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
        disclosure=MS_DISCLOSURE,
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis share {input.data:q} --study {params.study:q} "
        "--site {wildcards.site:q} --out {output.bundle:q} --summary {output.summary:q} "
        "{params.disclosure:q} > {log:q} 2>&1"


rule multisite_round_start:
    input:
        bundles=MS_BUNDLES,
    output:
        MS_ROUND.format(r=0),
    log:
        "logs/multisite/round_0.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        python=PYTHON,
        study=STUDY_FILE,
        disclosure=MS_DISCLOSURE,
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis pool-round {input.bundles:q} --study {params.study:q} "
        "--out {output:q} {params.disclosure:q} > {log:q} 2>&1"


rule multisite_contribution:
    input:
        round=MS_ROUND,
        data=MS_SITE_DATA,
    output:
        MS_CONTRIBUTION,
    log:
        "logs/multisite/{site}/round_{r}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        python=PYTHON,
        study=STUDY_FILE,
        disclosure=MS_DISCLOSURE,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis share-round {input.data:q} --study {params.study:q} "
        "--site {wildcards.site:q} --round {input.round:q} --out {output:q} "
        "{params.disclosure:q} > {log:q} 2>&1"


rule multisite_round:
    input:
        bundles=MS_BUNDLES,
        previous=lambda w: MS_ROUND.format(r=int(w.r) - 1),
        contributions=lambda w: expand(MS_CONTRIBUTION, r=int(w.r) - 1, site=MS_SITES),
    output:
        MS_ROUND,
    log:
        "logs/multisite/round_{r}.log",
    wildcard_constraints:
        r="[1-9][0-9]*",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        python=PYTHON,
        study=STUDY_FILE,
        disclosure=MS_DISCLOSURE,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis pool-round {input.bundles:q} --study {params.study:q} "
        "--previous {input.previous:q} --contributions {input.contributions:q} "
        "--out {output:q} {params.disclosure:q} > {log:q} 2>&1"


rule multisite_pool:
    input:
        bundles=MS_BUNDLES,
        rounds=MS_FINAL_ROUND,
    output:
        html="reports/multisite/report.html",
        md="reports/multisite/report.md",
        pooled="reports/multisite/pooled.json",
    log:
        "logs/multisite/pool.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
        cpus_per_task=lambda wildcards, threads: threads,
    params:
        python=PYTHON,
        study=STUDY_FILE,
        rounds=lambda w, input: ["--rounds", *input.rounds] if input.rounds else [],
        out_dir=output_dir,
        disclosure=MS_DISCLOSURE,
        files_sha256=FILES_SHA256,
        code_sha256=CODE_SHA256,
    shell:
        "{params.python:q} -m analysis pool {input.bundles:q} --study {params.study:q} "
        "{params.rounds:q} --out {params.out_dir:q} {params.disclosure:q} > {log:q} 2>&1"


rule multisite:
    input:
        rules.multisite_pool.output,
