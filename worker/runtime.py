"""A worker process's resources (Redis, job store, model registry, callback sender), created once per process."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial
from typing import Callable

import redis
from celery import Celery

from models.manifest import ModelStore
from models.registry import Registry
from worker import callbacks
from worker.jobstore import JobStore
from worker.redis_client import create_redis
from worker.settings import Settings


@dataclass(frozen=True)
class Runtime:
    """What a task needs besides its message."""

    settings: Settings
    redis: redis.Redis
    jobs: JobStore
    registry: Registry
    callbacks: callbacks.CallbackSender
    # Told the id of every job this process finished whose callback is due (queues its delivery).
    callback_due: Callable[[str], None]

    @classmethod
    def create(cls, settings: Settings, callback_due: Callable[[str], None] = lambda job_id: None) -> "Runtime":
        client = create_redis(settings)
        jobs = JobStore(client, ttl_s=settings.job_ttl_s, max_attempts=settings.max_attempts)
        return cls(settings=settings, redis=client, jobs=jobs,
                   registry=Registry(ModelStore(settings.model_dir), settings.model_versions_cached),
                   callbacks=callbacks.CallbackSender(settings, client, jobs), callback_due=callback_due)


_lock = threading.Lock()


def runtime_for(app: Celery) -> Runtime:
    """The process's runtime for ``app``; models load lazily, after any fork."""
    runtime = getattr(app, "scoring_runtime", None)
    if runtime is None:
        with _lock:
            runtime = getattr(app, "scoring_runtime", None)
            if runtime is None:
                runtime = app.scoring_runtime = Runtime.create(app.scoring_settings,
                                                               partial(callbacks.schedule, app))
    return runtime
