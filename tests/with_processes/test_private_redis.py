"""`make run`'s launcher and its private Redis: a password per run, an owner-only data folder, loopback only.

These start the real things: ``python -m tools.run_local web`` (a private
redis-server and gunicorn under honcho) and ``RedisServer`` on its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis

from jobqueue.settings import PROJECT_ROOT, Settings
from tests.support.data import SIGNUP, registry_settings
from tests.support.processes import eventually
from tools.redis_server import RedisServer, free_port


def _modes(folder: Path) -> dict[str, int]:
    """Permission bits of ``folder`` and of everything in it, by path relative to it."""
    return {".": folder.stat().st_mode & 0o777} | {
        str(p.relative_to(folder)): p.stat().st_mode & 0o777 for p in folder.rglob("*")
    }


def _owner_only(modes: dict[str, int], folder: Path) -> bool:
    return all(mode == (0o700 if (folder / name).is_dir() else 0o600) for name, mode in modes.items())


def test_a_private_redis_with_a_password_refuses_everyone_else_and_keeps_its_files_private(tmp_path: Path) -> None:
    folder = tmp_path / "redis"
    folder.mkdir(mode=0o755)
    (folder / "left-from-an-earlier-run.aof").write_text("jobs in clear")
    (folder / "left-from-an-earlier-run.aof").chmod(0o644)
    with RedisServer(data_dir=folder, appendonly=True, password="a-password-of-this-run") as server:
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port).ping()
        client = redis.Redis.from_url(server.url)
        client.set("scoring:job:1", "a job's input")
        client.bgrewriteaof()
        eventually(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0, message="AOF rewritten")
        # Never on a command line, which every local user can read.
        redis_pid = client.info("server")["process_id"]
        assert "a-password-of-this-run" not in " ".join(psutil.Process(redis_pid).cmdline())
        modes = _modes(folder)
    assert any(name.startswith("appendonlydir/") for name in modes) and "redis.log" in modes
    assert _owner_only(modes, folder), {name: oct(mode) for name, mode in modes.items()}


def test_make_run_gives_its_redis_a_password_of_its_own_and_passes_it_only_to_its_children(
    model_dir: Path, tmp_path: Path
) -> None:
    port, redis_port, folder = free_port(), free_port(), tmp_path / "var" / "redis"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "API_KEYS", "WEB_HOST", "ALLOW_OPEN")}
    registry = registry_settings(Settings(), model_dir)
    env.update(
        DATABASE_URL=registry.database_url,
        MODEL_DIR=str(registry.model_dir),
        PORT=str(port),
        REDIS_PORT=str(redis_port),
        WEB_CONCURRENCY="1",
        VAR_DIR=str(tmp_path / "var"),
    )
    log = tmp_path / "run_local.log"
    with open(log, "wb") as out:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "tools.run_local", "web"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def web_answers() -> bool:
            assert launcher.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    return True
            except OSError:
                return False

        eventually(web_answers, 60, 0.2, "the web of make run")
        # The web's REDIS_URL carries the password; without it Redis refuses.
        # The web's processes (honcho's shell, gunicorn and its worker) share one environment.
        web = [p for p in psutil.Process(launcher.pid).children(recursive=True) if "gunicorn" in " ".join(p.cmdline())]
        url = web[0].environ()["REDIS_URL"]
        password = redis.connection.parse_url(url)["password"]
        assert len(password) >= 24 and url.endswith(f"127.0.0.1:{redis_port}/0")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=redis_port).ping()
        assert redis.Redis.from_url(url).ping()
        # The web uses it: a job is recorded, and the append-only file written, owner-only.
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/jobs",
            data=json.dumps(SIGNUP).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
        modes = _modes(folder)
        assert _owner_only(modes, folder), {name: oct(mode) for name, mode in modes.items()}
        # The banner names Redis with the password redacted, and the web on loopback.
        banner = log.read_text()
        assert f"redis://:***@127.0.0.1:{redis_port}/0" in banner and f"http://127.0.0.1:{port}" in banner
        assert password not in banner
    finally:
        launcher.send_signal(signal.SIGTERM)
        try:
            code = launcher.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
            raise
    assert code == 0
    assert password not in log.read_text()
