"""A worker process's resources (Redis, job store, models, callback sender), created once per process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import redis
from celery import Celery, Task

from jobqueue.celery_client import create_celery_client, send_callback, send_explain_chunk
from jobqueue.connections import create_redis
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from models.loader import ModelLoader
from models.store import ModelStore
from worker.callback_delivery import CallbackSender


@dataclass(frozen=True)
class Runtime:
    """What a task needs besides its message."""

    settings: Settings
    redis: redis.Redis
    jobs: JobStore
    models: ModelLoader
    callbacks: CallbackSender
    # Told the id of every job this process finished whose callback is due (queues its delivery).
    callback_due: Callable[[str], None]
    # Queues one chunk (job id, chunk number) of a job split into chunks.
    send_chunk: Callable[[str, int], None]

    @classmethod
    def create(
        cls,
        settings: Settings,
        callback_due: Callable[[str], None] = lambda job_id: None,
        send_chunk: Callable[[str, int], None] | None = None,
    ) -> "Runtime":
        """The resources for ``settings``; ``callback_due`` queues deliveries (tests may leave it out), and
        ``send_chunk`` chunks (by default through a send-only Celery client of the same broker)."""
        client = create_redis(settings)
        jobs = JobStore.for_settings(client, settings)
        return cls(
            settings=settings,
            redis=client,
            jobs=jobs,
            models=ModelLoader(ModelStore.for_settings(settings), settings.model_versions_cached),
            callbacks=CallbackSender(settings, jobs),
            callback_due=callback_due,
            send_chunk=send_chunk or partial(send_explain_chunk, create_celery_client(settings)),
        )


class WorkerApp(Celery[Task[Any, Any]]):
    """The worker's Celery app: it carries the service's settings and, once made, each process's runtime."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("scoring")
        self.scoring_settings = settings
        self.scoring_runtime: Runtime | None = None


_lock = threading.Lock()


def worker_app(app: Celery) -> WorkerApp:
    """``app`` as the worker's app; a plain Celery app here means a wiring mistake."""
    if not isinstance(app, WorkerApp):
        raise TypeError(f"{app!r} is not the worker's app (worker.celery_app.create_celery)")
    return app


def runtime_for(app: Celery) -> Runtime:
    """The process's runtime for ``app``; models load lazily, after any fork."""
    owner = worker_app(app)
    runtime = owner.scoring_runtime
    if runtime is None:
        with _lock:
            runtime = owner.scoring_runtime
            if runtime is None:
                runtime = owner.scoring_runtime = Runtime.create(
                    owner.scoring_settings, partial(send_callback, owner), partial(send_explain_chunk, owner)
                )
    return runtime
