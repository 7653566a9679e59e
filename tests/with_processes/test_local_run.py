"""`make run` and the commands beside it: the README's scale command, run as written, reports the service that
tools.run_local started, because run_local records where its private Redis is."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from jobqueue.local_redis import redacted
from jobqueue.settings import PROJECT_ROOT, Settings
from tests.support.processes import eventually, settings_env, terminate
from tools.redis_server import free_port

README = PROJECT_ROOT / "README.md"


def readme_scale_command() -> str:
    """The command line the README's Scaling section shows (``$ …``), without its comment."""
    text = README.read_text()
    section = text[text.index("### Scaling") :]
    command = re.search(r"^\$ (.+?)\s+#", section, re.MULTILINE)
    assert command is not None, "no $ command in the README's Scaling section"
    return command.group(1)


@pytest.fixture
def shell_env(tmp_path: Path, settings: Settings) -> dict[str, str]:
    """A fresh shell in the checkout: no REDIS_URL, the session's models, and its own VAR_DIR."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "REDIS_PORT"}}
    env.update(VAR_DIR=str(tmp_path / "var"), MODEL_DIR=str(settings.model_dir), WARM_MODELS="0")
    return env


@pytest.fixture
def make_run(shell_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m tools.run_local worker``: a private Redis and the fast worker, as `make run` starts them."""
    with open(tmp_path / "run_local.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.run_local", "worker"],
            cwd=PROJECT_ROOT,
            env=shell_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # Ctrl-C
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def test_the_readme_scale_command_reports_the_service_make_run_serves(
    make_run: subprocess.Popen[bytes], shell_env: dict[str, str], tmp_path: Path
) -> None:
    record = tmp_path / "var" / "run" / "redis.json"
    eventually(record.exists, timeout_s=60, message="run_local's record of its Redis")
    url = json.loads(record.read_text())["url"]
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert urlsplit(url).hostname == "127.0.0.1" and urlsplit(url).password, "a loopback Redis with a password"
    command = readme_scale_command().replace(".venv/bin/python", sys.executable)

    def scale() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command], cwd=PROJECT_ROOT, env=shell_env, capture_output=True, text=True, timeout=60
        )

    def fast_worker_seen() -> subprocess.CompletedProcess[str] | None:
        ran = scale()
        rows = {line.split()[0]: line.split() for line in ran.stdout.splitlines()[1:3]}
        return ran if ran.returncode == 0 and rows.get("fast", [None] * 4)[3] == "1" else None

    # The worker make run started is the one the command counts: that service's Redis, not another.
    ran = eventually(fast_worker_seen, timeout_s=90, interval_s=1, message="scale seeing make run's worker")
    assert isinstance(ran, subprocess.CompletedProcess)
    # The password stays out of the output.
    assert ran.stderr == f"scale: Redis {redacted(url)} (make run's, from {record})\n" and "***" in ran.stderr
    assert ran.stdout.startswith("queue  depth")

    # Ctrl-C stops make run, and the record goes with it: the command says it falls back.
    make_run.send_signal(signal.SIGINT)
    assert make_run.wait(60) == 0
    assert not record.exists()
    assert "REDIS_URL is unset and no make run is serving from this checkout" in scale().stderr


@pytest.mark.parametrize(("login", "status"), [("", 200), ("ops:flower-pass", 401)])
def test_flower_as_make_run_starts_it_asks_for_a_login_only_when_one_is_set(
    settings: Settings, tmp_path: Path, login: str, status: int
) -> None:
    port = free_port()
    # The environment run_local gives every child: each setting spelled out, FLOWER_BASIC_AUTH="" included.
    env = settings_env(settings.replace(flower_port=port, flower_basic_auth=login))
    with open(tmp_path / "flower.log", "wb") as log:
        flower = subprocess.Popen(
            [sys.executable, "-m", "worker", "flower"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:

        def answer() -> int | None:
            try:
                return requests.get(f"http://127.0.0.1:{port}/", timeout=2).status_code
            except requests.ConnectionError:
                return None

        assert eventually(answer, timeout_s=60, interval_s=0.2, message="Flower answering") == status
        if login:
            user, password = login.split(":")
            assert requests.get(f"http://127.0.0.1:{port}/", auth=(user, password), timeout=5).status_code == 200
    finally:
        terminate(flower, 20)
