"""The worker's Celery app: the send-only client plus tasks, time limits and bootsteps, set so that
accepted jobs are never lost.

``celery -A worker.celery_app`` reads the module attribute ``app``, which is
built from the environment on first access rather than at import.
"""

from __future__ import annotations

from jobqueue import contract
from jobqueue.celery_client import configure_client
from jobqueue.settings import Settings
from worker.cache_sweep import CacheSweep
from worker.heartbeat import QueueHeartbeat
from worker.kombu_transport import transport_for
from worker.reaper import ReaperStep
from worker.runtime import WorkerApp


def create_celery(settings: Settings) -> WorkerApp:
    """The worker's Celery app for ``settings``; its Redis clients wait WORKER_REDIS_SOCKET_TIMEOUT_S."""
    settings = settings.replace(redis_socket_timeout_s=settings.worker_redis_socket_timeout_s)
    app = WorkerApp(settings)
    configure_client(app, settings)
    app.conf.update(
        include=["worker.tasks", "worker.signals"],
        broker_transport=transport_for(settings.redis_url),
        # Acknowledge only after the job's outcome is recorded; a worker that dies
        # mid-job gets its message redelivered instead of dropping it.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Celery acknowledges a job killed at its hard time limit by default,
        # which would leave its record running with no message to retry it.
        # Requeued instead, it is retried until MAX_ATTEMPTS fails it.
        task_acks_on_failure_or_timeout=False,
        worker_prefetch_multiplier=1,
        # Celery's prefork pool, but a pool process lost while the worker starts is replaced
        # rather than stopping the worker (worker/pool.py); `-P prefork` selects it too.
        worker_pool="worker.pool:TaskPool",
        # Soft limit first so the job can record a readable timeout; the hard limit
        # stays below the visibility timeout (checked in Settings).
        task_annotations={name: _time_limits(settings, queue) for name, queue in contract.TASK_QUEUES.items()},
        broker_transport_options={
            **app.conf.broker_transport_options,
            # Sweep every interval (kombu otherwise scans on every tenth tick only).
            "unacked_restore_interval": settings.unacked_restore_interval_s,
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # On a lost broker connection, cancel running jobs so their unacked
        # messages are redelivered rather than finished twice.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        # A pool process loads every active model before it reports up (worker.signals);
        # on a busy machine that outlasts billiard's 4 s default, and killing it there
        # would only start the next one loading again.
        worker_proc_alive_timeout=30.0,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    app.steps["consumer"].update({QueueHeartbeat, ReaperStep, CacheSweep})
    return app


def _time_limits(settings: Settings, queue: str) -> dict[str, int]:
    """The hard time limit of ``queue``'s tasks and, SOFT_TIME_LIMIT_MARGIN_S before it, the soft one."""
    hard, margin = settings.time_limit_s(queue), settings.soft_time_limit_margin_s
    return {"time_limit": hard, **({"soft_time_limit": hard - margin} if 0 < margin < hard else {})}


def __getattr__(name: str) -> WorkerApp:
    # PEP 562: build the CLI's app on first access, once.
    if name == "app":
        globals()["app"] = created = create_celery(Settings.from_env())
        return created
    raise AttributeError(name)
