# Baclofen neurotoxicity in severe CKD (Cheong et al., Nefrologia 2020):
# data -> validate -> derive -> tables/models -> rendered tables, figures -> report.
# The same file runs locally (make report) or on a cluster through an executor
# plugin, e.g. `snakemake --profile profiles/slurm`.

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/config.schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/tables.smk"
include: "rules/reviewer.smk"
include: "rules/report.smk"
include: "rules/multisite.smk"


# A report made from other inputs goes before any job runs: a failed or killed run
# then leaves no report that could pass for one of the current inputs. A run of the
# multi-site study alone (every job planned is a multisite_* rule) leaves it be.
onstart:
    if any(
        not job.rule.name.startswith("multisite")
        for job in workflow.dag.needrun_jobs()
    ):
        remove_stale_report(Path("reports"), FINGERPRINT, Path("results"))


rule all:
    input:
        "reports/report.html",
        expand(
            "reports/tables/{output_id}.{fmt}",
            output_id=OUTPUT_IDS,
            fmt=config["formats"],
        ),
        "reports/tables.docx",
        "reports/tables.xlsx",
        "reports/tables.tex",
        ["reports/reproduction.html"] if SCORECARD else [],
