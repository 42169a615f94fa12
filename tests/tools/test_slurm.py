"""The workflow on a real Slurm cluster: profiles/slurm, through
snakemake-executor-plugin-slurm, on a single-node cluster started from Debian's packages
(slurm/cluster.py). Every job runs as a Slurm job, and the results are byte-identical to
the local run (conftest's workflow_run)."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from slurm.cluster import SlurmCluster, client_env, node_hardware, why_not
from support import SNAKEMAKE, env_without, workflow_copy

pytestmark = [pytest.mark.tools, pytest.mark.workflow]

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "slurm"
# On top of the shipped profile, for a test: quick status checks (the jobs take seconds)
# and the Slurm logs of successful jobs kept, to be read below.
TEST_OPTIONS = [
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "2",
    "--slurm-keep-successful-logs",
]
COMPARED = ["results/tables/*.json", "results/sensitivity/*.json", "reports/tables/*"]
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")


def _profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


def _snakemake_env() -> dict[str, str]:
    """No venv on PATH (the rules name their interpreter themselves), no SLURM_* variables."""
    return client_env(env_without(SNAKEMAKE.parent))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[SlurmCluster]:
    """A single-node cluster whose one partition has the profile's default name, so the
    profile runs unchanged. Stopped (every daemon, by PID) even when the test fails."""
    reason = why_not()
    if reason:
        pytest.skip(reason)
    defaults = _profile()["default-resources"]
    memory, asked = int(node_hardware()["RealMemory"]), int(defaults["mem_mb"])
    if memory < asked:
        pytest.skip(f"{memory} MB of memory: Slurm would refuse the jobs' {asked} MB")
    slurm = SlurmCluster(tmp_path_factory.mktemp("slurm"), partition=defaults["slurm_partition"])
    try:
        slurm.start()
        yield slurm
    finally:
        slurm.stop()


@pytest.fixture(scope="module")
def slurm_run(cluster, workflow_files, tmp_path_factory) -> tuple[Path, str]:
    """The default workflow run through Slurm in its own scratch copy: (folder, log)."""
    work = workflow_copy(workflow_files, tmp_path_factory.mktemp("slurm_workflow"))
    command = [str(SNAKEMAKE), "--profile", str(PROFILE), *TEST_OPTIONS]
    try:
        out = subprocess.run(
            command, cwd=work, capture_output=True, text=True, env=_snakemake_env(), timeout=900
        )
    except subprocess.TimeoutExpired as exc:  # its captured output comes as bytes
        err = exc.stderr or b""
        err = err.decode(errors="replace") if isinstance(err, bytes) else err
        pytest.fail(f"no end after {exc.timeout} s\n{err[-4000:]}\n{cluster.logs()}")
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:] + "\n" + cluster.logs()
    return work, log


def test_profile_sets_split_jobs(tmp_path):
    """The profile's `config` reaches the workflow's config (one job per table on a
    cluster): a Snakefile that only writes its config down, dry-run under the profile."""
    (tmp_path / "Snakefile").write_text(
        textwrap.dedent("""\
            import json
            from pathlib import Path
            Path("config.json").write_text(json.dumps(config))
            rule all:
                input: []
            """)
    )
    out = subprocess.run(
        [str(SNAKEMAKE), "--profile", str(PROFILE), "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_snakemake_env(),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    config = json.loads((tmp_path / "config.json").read_text())
    # the rules read it as text: str(...).lower() == "true"
    assert str(config["split_jobs"]).lower() == "true"


def test_every_job_ran_as_a_slurm_job(slurm_run, cluster):
    """Each job Snakemake ran has a Slurm job id that slurmctld allocated and saw end
    with exit code 0, named after one run, in the scratch folder; its log is there."""
    work, log = slurm_run
    submitted = SUBMITTED.findall(log)
    assert submitted, log[-3000:]
    done = re.search(r"(\d+) of (\d+) steps \(100%\) done", log)
    assert done, log[-3000:]
    # every step but the target rule `all` (no action, nothing to submit)
    assert len(submitted) == int(done.group(2)) - 1, log[-3000:]
    assert len({job for job, _, _ in submitted}) == len(submitted)
    ctld_log = cluster.ctld_log.read_text(errors="replace")
    names = set()
    for _, slurm_id, logfile in submitted:
        assert re.search(rf"JobId={slurm_id} .*WEXITSTATUS 0", ctld_log), slurm_id
        info = cluster.client(["scontrol", "show", "job", slurm_id]).stdout
        fields = dict(re.findall(r"(\w+)=(\S*)", info))
        assert fields["JobState"] == "COMPLETED", info
        assert fields["ExitCode"] == "0:0", info
        assert fields["Partition"] == cluster.partition, info
        assert Path(fields["WorkDir"]) == work, info
        names.add(fields["JobName"])
        assert Path(logfile).is_relative_to(work / ".snakemake" / "slurm_logs"), logfile
        assert Path(logfile).name == f"{slurm_id}.log" and Path(logfile).exists(), logfile
    assert len(names) == 1, names  # the run's uuid: one Snakemake run submitted them all


def test_results_match_the_local_run(slurm_run, workflow_run):
    """Tables, renderings and sensitivity analyses: the same files, byte for byte."""
    work, _ = slurm_run

    def outputs(folder: Path) -> dict[str, bytes]:
        files = [p for pattern in COMPARED for p in folder.glob(pattern) if p.is_file()]
        return {str(p.relative_to(folder)): p.read_bytes() for p in files}

    on_slurm, local = outputs(work), outputs(workflow_run)
    assert local, "the local run wrote none of " + ", ".join(COMPARED)
    assert sorted(on_slurm) == sorted(local)
    assert [name for name in local if on_slurm[name] != local[name]] == []


def test_the_report_names_the_local_runs_inputs_code_and_settings(slurm_run, workflow_run):
    """split_jobs cuts the same steps into other jobs: the report's provenance is the
    local run's, its time apart (the same SOURCE_DATE_EPOCH makes the reports identical)."""
    work, _ = slurm_run

    def provenance(folder: Path) -> dict:
        recorded = json.loads((folder / "reports" / "provenance.json").read_text("utf-8"))
        return {k: v for k, v in recorded.items() if k != "created"}

    assert provenance(work) == provenance(workflow_run)
