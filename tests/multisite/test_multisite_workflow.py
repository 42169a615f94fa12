"""`make multisite`'s Snakemake target: three simulated sites, bundles, rounds, pool.

The point checked beyond "it runs": a site's patients reach only that site's jobs. The
coordinator's jobs read bundles and round contributions, never a site's data file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml
from support import SNAKEMAKE, env_without, workflow_copy


def _snakemake(work, *args: str) -> subprocess.CompletedProcess:
    env = env_without(SNAKEMAKE.parent)
    return subprocess.run(
        [str(SNAKEMAKE), "--cores", "2", *args], cwd=work, capture_output=True, text=True, env=env
    )


#: A single-site report made with other settings and inputs than the configuration's
#: (as after `make report DISCLOSURE=opensafely`): the multi-site run must leave it be.
OTHER_REPORT = {
    "report.html": "<p>a single-site report</p>",
    "provenance.json": json.dumps({"inputs": [], "code_sha256": "other"}),
    "tables/table1.md": "| a table |",
}


@pytest.fixture(scope="module")
def multisite_run(workflow_files, tmp_path_factory):
    work = workflow_copy(workflow_files, tmp_path_factory.mktemp("multisite_workflow"))
    for name, text in OTHER_REPORT.items():
        (work / "reports" / name).parent.mkdir(parents=True, exist_ok=True)
        (work / "reports" / name).write_text(text, encoding="utf-8")
    out = _snakemake(work, "multisite")
    assert out.returncode == 0, out.stderr[-3000:]
    return work


def test_the_single_site_report_is_left_as_it_was(multisite_run):
    for name, text in OTHER_REPORT.items():
        assert (multisite_run / "reports" / name).read_text(encoding="utf-8") == text


def test_the_three_sites_are_pooled_into_a_report(multisite_run):
    config = yaml.safe_load((multisite_run / "config" / "config.yaml").read_text())
    sites = [s["name"] for s in config["multisite"]["sites"]]
    pooled = json.loads((multisite_run / "reports/multisite/pooled.json").read_text())
    assert [s["site"] for s in pooled["sites"]] == sites
    assert [s["n"] for s in pooled["sites"]] == [s["n"] for s in config["multisite"]["sites"]]
    html = (multisite_run / "reports/multisite/report.html").read_text(encoding="utf-8")
    for text in ("Meta-analysis", "Exact distributed fit", "Cochran-Mantel-Haenszel", "I²"):
        assert text in html
    model = pooled["models"][0]
    assert model["distributed"]["iterations_to_converge"] <= config["multisite"]["rounds"]
    assert model["meta_analysis"]["terms"]  # a forest plot per term, and there are terms
    for term in model["meta_analysis"]["terms"]:
        assert (multisite_run / f"reports/multisite/figures/table4_{term}.svg").is_file()
    # each bundle was checked into the pooled document by its own checksum
    for entry in pooled["sites"]:
        bundle = json.loads(
            (multisite_run / f"results/multisite/bundles/{entry['site']}.json").read_text()
        )
        assert bundle["checksum"]["value"] == entry["bundle_sha256"]


def test_a_rerun_does_nothing(multisite_run):
    out = _snakemake(multisite_run, "multisite", "--dry-run")
    assert out.returncode == 0
    assert "Nothing to be done" in out.stdout + out.stderr


def test_only_bundles_and_contributions_reach_the_coordinator(multisite_run):
    """In the job graph, every edge out of a site's data goes to that site's own jobs."""
    out = _snakemake(multisite_run, "multisite", "--forceall", "--dag")
    assert out.returncode == 0, out.stderr[-2000:]
    labels = dict(re.findall(r'\t(\d+)\[label = "([^"\\]+)', out.stdout))
    edges = re.findall(r"\t(\d+) -> (\d+)", out.stdout)
    assert edges
    coordinator = {"multisite_round_start", "multisite_round", "multisite_pool"}
    # the rules the checks below look for exist (a renamed rule would check nothing)
    assert {"multisite_site_data", *coordinator} <= set(labels.values())
    for src, dst in edges:
        if labels[src] == "multisite_site_data":
            assert labels[dst] in {"multisite_share", "multisite_contribution"}
        if labels[dst] in coordinator:
            assert labels[src] in {"multisite_share", "multisite_contribution",
                                   "multisite_round_start", "multisite_round"}  # fmt: skip


def test_bundles_received_from_sites_are_pooled_from_the_configuration(multisite_run, tmp_path):
    """The coordinator alone: bundles listed under multisite.bundles, no site data."""
    work = tmp_path / "coordinator"
    work.mkdir()
    for name in ("Snakefile", "rules", "config", "studies", "envs"):
        src = multisite_run / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
    received = work / "data_raw" / "received"
    received.mkdir(parents=True)
    names = sorted(p.name for p in (multisite_run / "results/multisite/bundles").glob("*.json"))
    for name in names:
        shutil.copy2(multisite_run / "results/multisite/bundles" / name, received / name)
    extra = work / "config" / "received.yaml"
    extra.write_text(
        yaml.safe_dump({"multisite": {"bundles": [f"data_raw/received/{n}" for n in names]}})
    )
    out = _snakemake(work, "multisite", "--configfile", "config/received.yaml")
    assert out.returncode == 0, out.stderr[-3000:]
    assert not (work / "results" / "multisite" / "sites").exists()  # no site was simulated
    pooled = json.loads((work / "reports/multisite/pooled.json").read_text())
    reference = json.loads((multisite_run / "reports/multisite/pooled.json").read_text())
    assert pooled["tables"] == reference["tables"]
    model = pooled["models"][0]
    assert "distributed" not in model  # it needs the sites to answer each round
    assert model["meta_analysis"] == reference["models"][0]["meta_analysis"]
