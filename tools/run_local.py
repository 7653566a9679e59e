"""Run the whole service locally: web, workers and, unless REDIS_URL is set, a private Redis.

``python -m tools.run_local`` starts every Procfile process but the optional
ones (the ``flower`` dashboard); ``--with flower`` adds it, and naming
processes (``python -m tools.run_local web worker``) starts only those.

The private Redis listens on 127.0.0.1 with a password made for this run,
which the children get in REDIS_URL (the banner shows it redacted); its data
folder (``VAR_DIR/redis``) is readable by its owner only.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from jobqueue import local_redis
from jobqueue.settings import Settings
from tools.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
OPTIONAL_PROCESSES = ("flower",)
# Heroku's one-off step at each deploy; `make run` has done its work already (`make models`).
RELEASE_PROCESS = "release"


def procfile_processes() -> list[str]:
    """The long-running process names of the Procfile, in its order."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    names = [line.split(":", 1)[0] for line in lines if line.strip() and not line.startswith("#")]
    return [name for name in names if name != RELEASE_PROCESS]


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line: processes to start, optional ones to add, where the private Redis keeps its data."""
    parser = argparse.ArgumentParser(prog="python -m tools.run_local", description=__doc__.splitlines()[0])
    parser.add_argument("processes", nargs="*", metavar="process", help="Procfile processes to start")
    parser.add_argument("--with", dest="extra", action="append", default=[], choices=OPTIONAL_PROCESSES)
    args = parser.parse_args(argv)
    known = procfile_processes()
    unknown = [p for p in args.processes if p not in known]
    if unknown:
        parser.error(f"not in the Procfile: {', '.join(unknown)} (it has {', '.join(known)})")
    return args


def chosen_processes(argv: list[str]) -> list[str]:
    """The processes named on the command line, else all but the optional ones plus those asked --with."""
    args = parse_args(argv)
    named: list[str] = args.processes  # argparse's Namespace holds Any
    if named:
        return named
    return [p for p in procfile_processes() if p not in OPTIONAL_PROCESSES or p in args.extra]


def _child_env(settings: Settings) -> dict[str, str]:
    """The children's environment: every setting spelled out, so each process reads the same ones."""
    env = {**os.environ, **settings.as_env()}
    # Procfile commands are found on PATH, and `.venv/bin/python -m ...` does
    # not put the venv's bin directory there.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # Children write through honcho's pipes; unbuffered output keeps logs live.
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _reachable(host: str) -> str:
    """Where this machine reaches a server bound to ``host``: 0.0.0.0 listens everywhere, loopback among them."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def banner(settings: Settings, private_redis: bool, processes: list[str]) -> str:
    """What `make run` prints once everything is set up: where to go, which Redis, how to stop."""
    where = f"private, data in {_shown(settings.var_dir / 'redis')}/" if private_redis else "from REDIS_URL"
    lines = [
        f"  Scoring service  http://{_reachable(settings.web_host)}:{settings.port}",
        f"  Redis            {local_redis.redacted(settings.redis_url)} ({where})",
        f"                   recorded in {_shown(local_redis.record_path(settings))} for the project's commands",
    ]
    if "flower" in processes:
        host = _reachable(settings.flower_address)
        login = " (FLOWER_BASIC_AUTH's user and password)" if settings.flower_basic_auth else ""
        lines.append(f"  Flower           http://{host}:{settings.flower_port}{login}")
    lines.append("  Stop             Ctrl-C (or SIGTERM); everything started here is stopped")
    return "\n" + "\n".join(lines) + "\n"


def _run_honcho(env: dict[str, str], processes: list[str]) -> int:
    """Run honcho until it exits; stop signals are forwarded to it. Returns its exit code."""
    honcho: subprocess.Popen[bytes] | None = None
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if honcho is not None and honcho.poll() is None:
            honcho.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    for signum in STOP_SIGNALS:
        signal.signal(signum, forward)
    # Its own session: a terminal's Ctrl-C reaches only this process, so honcho
    # is told exactly once, and Redis outlives the workers that still use it.
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT), *processes],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        if stopping:
            honcho.terminate()
        code = honcho.wait()
    finally:
        # honcho is still alive here only after an unexpected error; never leave it behind.
        if honcho.poll() is None:
            honcho.terminate()
            honcho.wait()
    return 0 if stopping else code


def main(argv: list[str] | None = None) -> int:
    """Start Redis if needed, run the Procfile's processes, and clean up on any exit."""
    args = sys.argv[1:] if argv is None else argv
    processes = chosen_processes(args)
    # Until honcho runs, a stop signal just interrupts the startup.
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.default_int_handler)
    server: RedisServer | None = None
    record: Path | None = None
    try:
        settings = Settings.from_env()
        if "redis_url" not in settings.model_fields_set:  # no REDIS_URL: a private Redis
            # A password of this run: any local user could otherwise read and change every job.
            server = RedisServer(
                port=settings.redis_port or free_port(),
                data_dir=settings.var_dir / "redis",
                appendonly=True,
                password=secrets.token_urlsafe(24),
            )
            server.start()
            settings = settings.replace(redis_url=server.url)
        # `python -m tools.scale` and the other commands run without REDIS_URL find this service's Redis here.
        record = local_redis.record_path(settings)
        local_redis.record(record, settings.redis_url)
        print(banner(settings, server is not None, processes), flush=True)
        return _run_honcho(_child_env(settings), processes)
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, ValueError) as exc:
        print(f"run_local: {exc}", file=sys.stderr)
        return 1
    finally:
        if record is not None:
            local_redis.forget(record)
        if server is not None:
            server.stop()
            print("run_local: Redis stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
