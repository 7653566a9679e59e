"""Deployment files: the compose services run the Procfile's commands."""

from __future__ import annotations

import re

from jobqueue.settings import PROJECT_ROOT


def test_compose_runs_every_procfile_process_with_the_same_command() -> None:
    procfile = dict(
        line.split(": ", 1)
        for line in (PROJECT_ROOT / "Procfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    compose = (PROJECT_ROOT / "docker-compose.yml").read_text()
    # Each service is a two-space-indented key; its lines are indented further, up to the next service.
    services = dict(re.findall(r"^  ([a-z]+):\n((?:    .*\n|\s*\n)*)", compose, re.MULTILINE))
    assert {"web", "worker", "heavy", "callbacks", "flower"} <= procfile.keys()
    for name, line in procfile.items():
        # A Procfile's leading VAR=value words are the compose service's environment.
        env = re.findall(r"^([A-Z_]+)=(\S+) ", line)
        command = re.sub(r"^(?:[A-Z_]+=\S+ )+", "", line)
        assert f"    command: {command}\n" in services.get(name, ""), name
        for var, value in env:
            assert re.search(rf"^      {var}: \"?{re.escape(value)}\"?$", services[name], re.MULTILINE), (name, var)
