"""A worker process's resources (Redis, job store, model registry, callback sender), created once per process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import redis
from celery import Celery

from jobqueue.celery_client import send_callback
from jobqueue.connections import create_redis
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from models.manifest import ModelStore
from models.registry import Registry
from worker.callback_delivery import CallbackSender


@dataclass(frozen=True)
class Runtime:
    """What a task needs besides its message."""

    settings: Settings
    redis: redis.Redis
    jobs: JobStore
    registry: Registry
    callbacks: CallbackSender
    # Told the id of every job this process finished whose callback is due (queues its delivery).
    callback_due: Callable[[str], None]

    @classmethod
    def create(cls, settings: Settings, callback_due: Callable[[str], None] = lambda job_id: None) -> "Runtime":
        """The resources for ``settings``; ``callback_due`` queues deliveries (tests may leave it out)."""
        client = create_redis(settings)
        jobs = JobStore.for_settings(client, settings)
        return cls(
            settings=settings,
            redis=client,
            jobs=jobs,
            registry=Registry(ModelStore(settings.model_dir), settings.model_versions_cached),
            callbacks=CallbackSender(settings, jobs),
            callback_due=callback_due,
        )


_lock = threading.Lock()


def runtime_for(app: Celery) -> Runtime:
    """The process's runtime for ``app``; models load lazily, after any fork."""
    runtime: Runtime | None = getattr(app, "scoring_runtime", None)
    if runtime is None:
        with _lock:
            runtime = getattr(app, "scoring_runtime", None)
            if runtime is None:
                runtime = Runtime.create(app.scoring_settings, partial(send_callback, app))  # type: ignore[attr-defined]
                app.scoring_runtime = runtime  # type: ignore[attr-defined]
    return runtime
