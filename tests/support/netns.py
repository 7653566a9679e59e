"""Hosts for tests: network namespaces on a private bridge, each with its own copy of the tree, cache and temp folder.

A ``Network`` makes a Linux bridge with an address on a private /24 and, per
host, a namespace joined to it by a veth pair. The hosts have no default
route: they reach each other and the test process (on the bridge's address),
nothing else. Everything is removed when the network closes. Root only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from jobqueue.settings import PROJECT_ROOT

SUBNET = "10.213.7"
# What a host's copy of the tree leaves out: the virtualenv (shared, like an image's layers), local state.
NOT_COPIED = shutil.ignore_patterns(
    ".venv", ".git", "var", "artifacts", ".coverage", ".mypy_cache", ".ruff_cache", "__pycache__", "seed", "bench"
)


def ip(*args: str) -> None:
    """Run ``ip ARGS``, raising with its message if it fails."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass(eq=False)  # hosts are compared and hashed by identity
class Host:
    """One namespace: its address, its own tree, cache and temp folder, and the processes started in it."""

    name: str
    namespace: str
    veth: str
    address: str
    root: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def tree(self) -> Path:
        return self.root / "tree"

    def env(self, settings_env: dict[str, str]) -> dict[str, str]:
        """The environment of a process on this host: the settings, this host's cache and temp folder."""
        return {
            **os.environ,
            **settings_env,
            "MODEL_DIR": str(self.root / "cache"),
            "TMPDIR": str(self.root / "tmp"),
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, argv: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen[bytes]:
        """Start ``argv`` in this namespace, from this host's tree, in a process group of its own."""
        with open(self.root / f"{log_name}.log", "ab") as log:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, *argv],
                cwd=self.tree,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def kill(self) -> None:
        """Every process of this host dies at once (SIGKILL), as a lost machine's do."""
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait()

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM every process group, then SIGKILL what is left after ``timeout_s``."""
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def link(self, up: bool) -> None:
        """Plug this host's cable in or pull it out: its packets to every other host pass or are lost."""
        ip("link", "set", self.veth, "up" if up else "down")


class Network:
    """A bridge on a private /24, and hosts joined to it."""

    def __init__(self, workdir: Path) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.bridge = f"sbr{self.tag}"
        self.address = f"{SUBNET}.1"
        self.workdir = workdir
        self.hosts: dict[str, Host] = {}
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.address}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add(self, name: str) -> Host:
        """A new host with the next address, a copy of the project's tree, its own cache and temp folder."""
        number = len(self.hosts) + 2
        host = Host(
            name, f"scoring-{self.tag}-{name}", f"sv{self.tag}{number}", f"{SUBNET}.{number}", self.workdir / name
        )
        ip("netns", "add", host.namespace)
        ip("link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
        ip("link", "set", host.veth, "master", self.bridge, "up")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
        ip("-n", host.namespace, "link", "set", "eth0", "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
        shutil.copytree(PROJECT_ROOT, host.tree, ignore=NOT_COPIED)
        (host.root / "cache").mkdir()
        (host.root / "tmp").mkdir()
        self.hosts[name] = host
        return host

    def close(self) -> None:
        """Stop every host's processes and remove the namespaces, the veth pairs and the bridge."""
        for host in self.hosts.values():
            host.stop(5)
        for host in self.hosts.values():
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True, check=False)
            subprocess.run(["ip", "link", "del", host.veth], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)
