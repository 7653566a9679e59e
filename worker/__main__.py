"""``python -m worker ROLE [celery worker options]``: start the worker of one role with its settings.

ROLE is ``fast`` (predictions, micro-batched), ``heavy`` (explanations and
training), ``callbacks`` (deliveries; loads no model), ``archiver`` (copies
every job that ends into the database's archive; not a Celery worker) or
``flower`` (the optional dashboard). Pool sizes, prefetch, the heavy pool's recycling and the
log level come from the settings (the environment), so the Procfile, the
compose file and the tests start each role the same way; options given after
ROLE are passed on to Celery and win over those.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from jobqueue import contract
from jobqueue.local_redis import command_settings
from jobqueue.settings import Settings
from worker.celery_app import create_celery


@dataclass(frozen=True)
class Role:
    """How one kind of worker process consumes: its queue, pool and prefetch, from the settings."""

    queue: str
    options: Callable[[Settings], list[str]]
    loads_models: bool = True
    niceness: Callable[[Settings], int] = lambda _: 0


ROLES = {
    "fast": Role(
        contract.Q_FAST,
        lambda s: ["-c", str(s.fast_concurrency), "--prefetch-multiplier", str(s.fast_prefetch_multiplier)],
    ),
    # One message at a time: an explanation is long, and a prefetched one would wait behind it.
    "heavy": Role(
        contract.Q_HEAVY,
        lambda s: [
            "-c",
            str(s.heavy_concurrency),
            "--prefetch-multiplier",
            "1",
            "--max-tasks-per-child",
            str(s.heavy_max_tasks_per_child),
            "--max-memory-per-child",
            str(s.heavy_max_memory_mb * 1024),  # Celery counts KiB
        ],
        niceness=lambda s: s.heavy_nice,
    ),
    "callbacks": Role(
        contract.Q_CALLBACKS,
        lambda s: ["-c", str(s.callback_concurrency), "--prefetch-multiplier", "1"],
        loads_models=False,
    ),
}


def worker_argv(settings: Settings, role: str) -> list[str]:
    """The ``celery worker`` arguments of ``role``."""
    spec = ROLES[role]
    return [
        "worker",
        "-Q",
        spec.queue,
        "-n",
        f"{role}@%h",
        *spec.options(settings),
        "--without-gossip",
        "--without-mingle",
        "-l",
        settings.log_level,
    ]


def flower_argv(settings: Settings) -> list[str]:
    """The ``celery flower`` arguments: loopback unless FLOWER_ADDRESS says otherwise, basic auth if set."""
    argv = ["flower", f"--address={settings.flower_address}", f"--port={settings.flower_port}"]
    if settings.flower_basic_auth:
        argv.append(f"--basic-auth={settings.flower_basic_auth}")
    return argv


def main(argv: list[str] | None = None) -> int:
    """Start the role named first in ``argv`` (default: sys.argv[1:]); its exit code."""
    args = sys.argv[1:] if argv is None else argv
    roles = [*ROLES, "archiver", "flower"]
    if not args or args[0] not in roles:
        print(f"usage: python -m worker {{{','.join(roles)}}} [celery options]\n\n{__doc__}", file=sys.stderr)
        return 2
    role, extra = args[0], args[1:]
    # Without REDIS_URL, a worker started by hand joins the `make run` serving from this checkout.
    settings = command_settings(f"worker {role}")
    if role == "archiver":
        from worker import archiver  # its own loop: none of Celery's worker machinery

        return archiver.main(settings)
    if role != "flower" and not ROLES[role].loads_models:
        settings = settings.replace(warm_models=False)
    if role == "flower":
        # Flower also reads FLOWER_* variables itself, and takes the empty FLOWER_BASIC_AUTH that
        # Settings.as_env() hands every child for a login nobody has: its argv already says everything.
        for name in [name for name in os.environ if name.startswith("FLOWER_")]:
            del os.environ[name]
    if role != "flower" and ROLES[role].niceness(settings):
        # Before Celery starts: the pool processes it forks inherit the niceness.
        os.nice(ROLES[role].niceness(settings))
    argv_of_role = flower_argv(settings) if role == "flower" else worker_argv(settings, role)
    # celery-types calls start() NoReturn; it returns the command's exit code (or None) once it ends.
    start: Callable[[list[str]], int | None] = create_celery(settings).start
    return start(argv_of_role + extra) or 0


if __name__ == "__main__":
    sys.exit(main())
