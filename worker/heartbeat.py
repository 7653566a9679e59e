"""A consumer bootstep that records, per queue, that this worker is alive and consuming it."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery import bootsteps

from jobqueue import contract
from jobqueue.connections import create_redis
from worker.runtime import worker_app

log = logging.getLogger(__name__)


class QueueHeartbeat(bootsteps.StartStopStep):
    """Scores this worker's hostname in each consumed queue's set every few seconds."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.timer_ref: Any = None
        self.queues: list[str] = []
        self.redis: redis.Redis | None = None

    def start(self, consumer: Any) -> None:
        self.queues = [queue.name for queue in consumer.task_consumer.queues]
        if self.redis is None:
            self.redis = create_redis(worker_app(consumer.app).scoring_settings)
        self._beat(consumer)
        self.timer_ref = consumer.timer.call_repeatedly(
            contract.HEARTBEAT_INTERVAL_S, self._beat, (consumer,), priority=10
        )

    def stop(self, consumer: Any) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None
        if self.redis is None:  # never started
            return
        try:
            pipe = self.redis.pipeline()
            for queue in self.queues:
                pipe.zrem(contract.workers_key(queue), consumer.hostname)
            pipe.execute()
        except Exception:  # Redis may be the reason we are stopping
            log.warning("could not withdraw worker heartbeat", exc_info=True)

    shutdown = stop

    def _beat(self, consumer: Any) -> None:
        if self.redis is None:
            return
        try:
            now = time.time()
            pipe = self.redis.pipeline()
            for queue in self.queues:
                key = contract.workers_key(queue)
                pipe.zadd(key, {consumer.hostname: now})
                pipe.zremrangebyscore(key, 0, now - contract.HEARTBEAT_STALE_S * 4)
            pipe.execute()
        except Exception:  # a missed beat must never stop consumption
            log.warning("worker heartbeat failed", exc_info=True)
