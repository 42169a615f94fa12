"""A throwaway single-node Slurm cluster for tests/tools/test_slurm.py, from Debian's
packages (munge, slurmctld, slurmd, slurm-client): no systemd, no cgroups, no accounting.

The job step that snakemake-executor-plugin-slurm runs inside each job drops the SLURM_*
variables, so its ``srun`` only finds the cluster through /etc/slurm/slurm.conf: the
cluster writes its configuration there (a file it did not write is kept aside and put
back). Everything else (state, spool, logs, munge key and socket) lives in a scratch
folder, and every daemon is a child of this process, stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import socket
import string
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CONF = Path("/etc/slurm/slurm.conf")
TEMPLATE = Path(__file__).with_name("slurm.conf.in")
MARKER = "# Written by tests/tools/slurm/cluster.py for one test run: removed when it ends."
NEEDS = "install it: tests/tools/install-system-packages.sh (root, Debian)"
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "sinfo", "scancel")
# The daemons live in sbin, which a non-login PATH may lack.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def which(name: str) -> str | None:
    return shutil.which(name, path=SEARCH_PATH)


def client_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (this process's environment) without SLURM_* variables: a test run from
    inside a Slurm job must still talk to the test cluster, through /etc/slurm/slurm.conf."""
    env = dict(os.environ if base is None else base)
    return {k: v for k, v in env.items() if not k.startswith("SLURM_")}


def why_not() -> str | None:
    """Why no test cluster can start here (the test skips with it), else None."""
    if os.geteuid() != 0:
        return "not root: slurmctld, slurmd and /etc/slurm/slurm.conf need root"
    missing = [name for name in DAEMONS + CLIENTS if which(name) is None]
    if missing:
        return f"no {', '.join(missing)}: {NEEDS}"
    live = sorted({"slurmctld", "slurmd"} & _running_commands())
    if live:
        return f"{', '.join(live)} already running here: the test leaves a live cluster alone"
    return None


def _running_commands() -> set[str]:
    """The command names of this machine's processes (/proc/<pid>/comm)."""
    names = set()
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            names.add(comm.read_text().strip())
        except OSError:  # the process ended meanwhile
            continue
    return names


def node_hardware() -> dict[str, str]:
    """``slurmd -C``: the node's name (as slurmd will register it) and its CPUs and memory."""
    out = subprocess.run([which("slurmd"), "-C"], capture_output=True, text=True, check=True)
    first = out.stdout.splitlines()[0]
    return dict(item.split("=", 1) for item in first.split())


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on (held open together, so all differ): a test cluster does
    not take Slurm's own 6817/6818 from a real one."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return f"({path} missing)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class SlurmCluster:
    """munged, slurmctld and slurmd on this machine, one partition over one node."""

    root: Path
    partition: str = "standard"
    node: str = ""
    daemons: dict[str, subprocess.Popen] = field(default_factory=dict)
    backup: Path | None = None
    wrote_conf: bool = False

    @property
    def munge_socket(self) -> Path:
        return self.root / "munge" / "munge.socket"

    @property
    def ctld_log(self) -> Path:
        return self.root / "log" / "slurmctld.log"

    def start(self, timeout: float = 60) -> None:
        """Write the configuration, start the daemons and wait for an idle node. On an
        error the caller still calls stop(): it undoes whatever part was done."""
        for sub in ("state", "spool", "log", "munge"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._start_munge()
        self._write_conf()
        self._spawn("slurmctld", [which("slurmctld"), "-D"])
        self._spawn("slurmd", [which("slurmd"), "-D"])
        self._wait_idle(timeout)

    def _start_munge(self) -> None:
        """A private munged (own key, own socket), run as root with --force: the
        machine's munge key and daemon, if any, stay untouched."""
        munge = self.root / "munge"
        munge.chmod(0o711)
        key = munge / "munge.key"
        key.touch(mode=0o600)
        key.chmod(0o600)
        key.write_bytes(os.urandom(1024))  # never printed
        self._spawn(
            "munged",
            [
                which("munged"),
                "--foreground",
                "--force",
                f"--socket={self.munge_socket}",
                f"--key-file={key}",
                f"--log-file={munge / 'munged.log'}",
                f"--pid-file={munge / 'munged.pid'}",
                f"--seed-file={munge / 'munged.seed'}",
            ],
        )
        self._wait_for(lambda: self.munge_socket.exists(), 15, "munged's socket")

    def _write_conf(self) -> None:
        hardware = node_hardware()
        self.node = hardware.pop("NodeName")
        cpus, memory = int(hardware["CPUs"]), int(hardware["RealMemory"])
        ctld_port, slurmd_port = free_ports(2)
        text = string.Template(TEMPLATE.read_text()).substitute(
            marker=MARKER,
            node=self.node,
            root=self.root,
            ctld_port=ctld_port,
            slurmd_port=slurmd_port,
            munge_socket=self.munge_socket,
            def_mem_per_cpu=max(100, min(1000, memory // cpus)),
            hardware=" ".join(f"{k}={v}" for k, v in hardware.items()),
            partition=self.partition,
        )
        CONF.parent.mkdir(parents=True, exist_ok=True)
        if CONF.exists() and not CONF.read_text(errors="replace").startswith(MARKER):
            self.backup = CONF.with_name(f"slurm.conf.before-test-{os.getpid()}")
            CONF.rename(self.backup)
        self.wrote_conf = True
        CONF.write_text(text)
        (self.root / "slurm.conf").write_text(text)  # a copy to read after the test

    def _spawn(self, name: str, command: list[str | None]) -> None:
        out = (self.root / "log" / f"{name}.out").open("w")
        self.daemons[name] = subprocess.Popen(
            [str(part) for part in command],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env=client_env(),
        )
        out.close()

    def _wait_for(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = {n: p.returncode for n, p in self.daemons.items() if p.poll() is not None}
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"no {what} (exited: {dead})\n{self.logs()}")
            time.sleep(0.5)

    def _wait_idle(self, timeout: float) -> None:
        def idle() -> bool:
            state = self.client(["sinfo", "-h", "-N", "-o", "%T"], check=False).stdout
            return state.strip() == "idle"

        self._wait_for(idle, timeout, f"idle node {self.node}")

    def client(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        """A Slurm client command (squeue, scontrol, ...) against this cluster."""
        return subprocess.run(
            [which(args[0]) or args[0], *args[1:]],
            capture_output=True,
            text=True,
            timeout=30,
            check=check,
            env=client_env(),
        )

    def logs(self) -> str:
        """The end of every daemon's log: what to read when something fails."""
        files = [*sorted((self.root / "log").glob("*")), self.root / "munge" / "munged.log"]
        return "\n".join(f"--- {path.name}\n{tail(path)}" for path in files)

    def stop(self) -> None:
        """Cancel leftover jobs, stop each daemon this object started (by its PID) and put
        /etc/slurm/slurm.conf back as it was. Safe after a partial start."""
        try:
            ctld = self.daemons.get("slurmctld")
            if ctld is not None and ctld.poll() is None:
                self._cancel_jobs()
        finally:
            for name in ("slurmd", "slurmctld", "munged"):
                daemon = self.daemons.pop(name, None)
                if daemon is None or daemon.poll() is not None:
                    continue
                daemon.terminate()
                try:
                    daemon.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait(timeout=10)
            self._restore_conf()

    def _cancel_jobs(self) -> None:
        """Jobs still queued or running (a failed or interrupted run): their slurmstepd
        would outlive slurmd otherwise."""
        try:
            ids = self.client(["squeue", "-h", "-o", "%A"], check=False).stdout.split()
            if not ids:
                return
            self.client(["scancel", *ids], check=False)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if not self.client(["squeue", "-h", "-t", "R,CG,PD"], check=False).stdout:
                    return
                time.sleep(1)
        except subprocess.TimeoutExpired:
            pass

    def _restore_conf(self) -> None:
        if self.wrote_conf and CONF.exists():
            if CONF.read_text(errors="replace").startswith(MARKER):
                CONF.unlink()
        if self.backup is not None and self.backup.exists():
            self.backup.rename(CONF)
        self.wrote_conf, self.backup = False, None
