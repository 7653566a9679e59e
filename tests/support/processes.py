"""Starting and stopping the service's real processes (Celery workers, gunicorn) for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
import redis

from jobqueue import contract
from jobqueue.settings import PROJECT_ROOT, Settings
from tools.redis_server import free_port


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a process use ``settings``."""
    return {**os.environ, **settings.as_env(), "PYTHONUNBUFFERED": "1"}


def eventually(
    condition: Callable[[], object], timeout_s: float = 20.0, interval_s: float = 0.05, message: str = "condition"
) -> object:
    """Poll ``condition`` until it returns something truthy, or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met within {timeout_s}s")
        time.sleep(interval_s)


def terminate(proc: subprocess.Popen, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if ``proc`` has not exited within ``timeout_s``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class WorkerProcess:
    """A real worker subprocess (prefork pool), started as the Procfile starts one: ``python -m worker ROLE``.

    The role's pool size and prefetch come from ``settings``; ``queues``,
    ``concurrency`` and ``prefetch`` override them for tests that need to.
    """

    def __init__(
        self,
        settings: Settings,
        role: str = "fast",
        queues: str | None = None,
        concurrency: int | None = None,
        prefetch: int | None = None,
        log_path: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self.queues = queues or role
        self.hostname = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = log_path
        overrides = [
            *(["-Q", queues] if queues else []),
            *(["-c", str(concurrency)] if concurrency else []),
            *(["--prefetch-multiplier", str(prefetch)] if prefetch else []),
        ]
        argv = [
            sys.executable,
            "-m",
            "worker",
            role,
            "-n",
            self.hostname,
            "-P",
            "prefork",
            "-l",
            "info",
            *overrides,
            *extra_args,
        ]
        # Held open for the process's life; stop() closes it.
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        # Its own process group, like a dyno's: a test can signal the worker and its pool at once.
        self.proc = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env=settings_env(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout_s: float = 60.0) -> "WorkerProcess":
        """Return once the worker's heartbeat shows it consuming every queue."""
        client = redis.Redis.from_url(self.settings.redis_url)

        def consuming() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}; see {self.log_path}")
            return all(
                client.zscore(contract.workers_key(q), self.hostname) is not None for q in self.queues.split(",")
            )

        eventually(consuming, timeout_s, 0.1, "worker heartbeat")
        client.close()
        return self

    def pool_pids(self) -> list[int]:
        """The pool processes (prefork children) of the running worker."""
        return [child.pid for child in psutil.Process(self.proc.pid).children()]

    def signal_all(self, signum: int) -> None:
        """Send ``signum`` to the worker and its pool processes, as a platform stopping a dyno does."""
        os.killpg(self.proc.pid, signum)

    def kill(self) -> None:
        """SIGKILL the worker and its pool at once, as a lost machine would, and reap it."""
        if self.proc.poll() is None:
            self.signal_all(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout_s: float = 20.0) -> int:
        """SIGTERM (warm shutdown), then SIGKILL if it does not exit in time."""
        terminate(self.proc, timeout_s)
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        return self.proc.returncode


class WebProcess:
    """A real gunicorn serving the app with several worker processes, as the Procfile runs it."""

    def __init__(self, settings: Settings, log_path: Path, workers: int = 2, bind: bool = True) -> None:
        """``bind=False`` leaves the address to the config (WEB_HOST), as the Procfile does."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = settings_env(settings)
        env.update({"PORT": str(self.port), "WEB_CONCURRENCY": str(workers), "WEB_THREADS": "4"})
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:web.gunicorn_conf",
            *(["--bind", f"127.0.0.1:{self.port}"] if bind else []),
            "web.wsgi:app",
        ]
        self._log = open(log_path, "ab")  # noqa: SIM115 - held open for the process's life; stop() closes it
        self.proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 30.0) -> "WebProcess":
        """Return once /health answers."""

        def answering() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as response:
                    return response.status == 200
            except OSError:
                return False

        eventually(answering, timeout_s, 0.1, "gunicorn answering")
        return self

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM (graceful), then SIGKILL if it does not exit in time."""
        terminate(self.proc, timeout_s)
        self._log.close()
        return self.proc.returncode
