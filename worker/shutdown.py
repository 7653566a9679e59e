"""Stopping a worker without losing work: resumable jobs stop at their next chunk and go back to the queue.

A platform stops a worker with SIGTERM and, a grace period later, SIGKILL (30 s
on a dyno; ``stop_grace_period`` in compose). Celery's warm shutdown waits for
running jobs, which a long explanation outlasts; killed, its message would come
back only after the visibility timeout. Instead a running chunked job hears of
the stop, ends its current chunk (checkpointed), is released (queued again, the
attempt not counted) and its message requeued at once, so another worker
resumes it from the checkpoint. The stop reaches the job by two paths:

- a dyno signals every process: a pool process running a resumable job defers
  SIGTERM (``deferred_sigterm``) rather than dying mid-chunk;
- tini (compose) and Kubernetes signal only the main process: its consumer
  step marks the worker draining in Redis (``DrainOnShutdown``), which the
  chunk loop reads.

Jobs without chunks are not interrupted: the warm shutdown waits for them.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import bootsteps

from jobqueue import contract
from jobqueue.connections import create_redis
from worker.runtime import worker_app

log = logging.getLogger(__name__)

# The mark only has to outlive the shutdown; a worker clears it when it starts.
DRAINING_TTL_S = 600


@contextmanager
def deferred_sigterm() -> Iterator[Callable[[], bool]]:
    """While active, SIGTERM no longer kills this process: the yielded check turns true instead.

    Also what billiard's own SIGTERM to a pool process (cold shutdown, a lost
    broker connection) now means for a resumable job: stop at the next chunk.
    The hard time limit still kills, with SIGKILL 0.1 s after its SIGTERM.
    """
    received = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        # Handlers can be set only from the main thread; pool processes run jobs there.
        yield received.is_set
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.set())
    try:
        yield received.is_set
    finally:
        signal.signal(signal.SIGTERM, previous)


class DrainOnShutdown(bootsteps.StartStopStep):
    """Marks this worker draining in Redis when it shuts down, and clears the mark when it starts.

    ``close`` runs only when the consumer stops for good, not when it
    reconnects after a lost broker connection.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.redis: redis.Redis | None = None

    def start(self, consumer: Any) -> None:
        # Hostnames come back with a restarted container: forget its previous shutdown.
        self._write(consumer, lambda client, key: client.delete(key))

    def close(self, consumer: Any) -> None:
        self._write(consumer, lambda client, key: client.set(key, "1", ex=DRAINING_TTL_S))

    def _write(self, consumer: Any, command: Callable[[Any, str], object]) -> None:
        if self.redis is None:
            self.redis = create_redis(worker_app(consumer.app).scoring_settings)
        try:
            command(self.redis, contract.draining_key(consumer.hostname))
        except Exception:  # without Redis, jobs fall back to redelivery
            log.warning("could not update the draining mark of %s", consumer.hostname, exc_info=True)
