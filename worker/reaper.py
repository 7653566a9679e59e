"""The reaper: finds jobs whose message was lost or is held by a vanished worker, and requeues them.

The web records a job and queues its message in one Redis call, and late
acknowledgement plus the visibility timeout bring back the message of a job
whose worker died. What neither covers is a job whose message is gone, or
held out of reach until the visibility timeout (an hour by default). A job
running longer than its queue's hard time limit plus REAPER_GRACE_S cannot
still be executing (the limit would have killed it), and a message delivered
that long ago whose job never started belongs to a worker that is gone, so:

- if the broker still holds the job's message as delivered, the reaper takes it
  back, sooner than the visibility timeout would;
- if the broker has no message for a running job (a Redis failover or fsync
  window lost it), or once taken back, the job is queued again with a new
  message, in one atomic step;
- if its message waits in the queue, it is left alone.

A requeued job is delivered like any other: its next start counts an attempt,
so one that keeps losing its worker is failed at MAX_ATTEMPTS. Every worker
runs the sweep on its consumer timer; a Redis lock lets one of them sweep per
REAPER_INTERVAL_S.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from celery import bootsteps

from jobqueue import contract
from jobqueue.connections import create_redis
from jobqueue.messages import job_message
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from worker.broker_scan import BrokerMessages
from worker.runtime import worker_app

log = logging.getLogger(__name__)

REQUEUED_BECAUSE = {
    "reclaimed": "its message, held by a worker that vanished, was queued again",
    "resent": "it had no message in the broker; queued a new one",
    "vanished": "its message vanished on the way to a worker (popped, never delivered); queued a new one",
}
# (task name, job id, queue) -> the message that runs the job.
MessageFor = Callable[[str, str, str], str]


class Reaper:
    """One sweep over the running index and the delivered messages; free of Celery but for ``message_for``."""

    def __init__(self, settings: Settings, jobs: JobStore, broker: BrokerMessages, message_for: MessageFor) -> None:
        self.settings = settings
        self.jobs = jobs
        self.broker = broker
        self.message_for = message_for

    def sweep(self, now: float) -> Counter[str]:
        """Requeue what was lost; returns how many jobs got each action."""
        grace, limit = self.settings.reaper_grace_s, self.settings.time_limit_s
        shortest = min(limit(queue) for queue in contract.JOB_QUEUES)
        lost: dict[str, dict[str, Any]] = {}
        for job_id, started in self.jobs.started_before(now - shortest - grace):
            record = self.jobs.get(job_id)
            if record is None or record["status"] != contract.RUNNING:
                self.jobs.forget(job_id)
            elif started + limit(record["queue"]) + grace < now:
                lost[job_id] = record
        delivered = self.broker.delivered()
        for job_id, delivery in delivered.items():
            # Delivered but never started for longer than a time limit: its worker is gone too.
            if job_id not in lost and delivery.at + shortest + grace < now:
                record = self.jobs.get(job_id)
                if (
                    record
                    and record["status"] == contract.QUEUED
                    and delivery.at + limit(record["queue"]) + grace < now
                ):
                    lost[job_id] = record
        actions: Counter[str] = Counter()
        for job_id, record in self._vanished(now - shortest - grace, now, set(delivered)):
            self._requeue(job_id, record, "vanished", actions, only_queued=True)
        if not lost:
            return actions
        waiting = self.broker.waiting(contract.JOB_QUEUES, set(lost) - set(delivered))
        for job_id, record in lost.items():
            if job_id in waiting:
                self.jobs.postpone(job_id, now)  # it will be delivered; look again a time limit later
                actions["waiting"] += 1
            elif job_id in delivered and not self.broker.take(delivered[job_id].tag):
                actions["raced"] += 1  # acknowledged or restored meanwhile: nothing to do
            else:
                self._requeue(job_id, record, "reclaimed" if job_id in delivered else "resent", actions)
        return actions

    def _vanished(self, before: float, now: float, delivered: set[str]) -> list[tuple[str, dict[str, Any]]]:
        """Queued jobs whose message is nowhere, now and a reaper interval ago: not waiting, not delivered.

        kombu pops a message (BRPOP) and only then records it as delivered; a
        worker killed, or cut off, in between takes the message with it. Seen
        missing by two sweeps (of any worker: the suspects are kept in Redis) a
        reaper interval apart, it was not merely in flight.
        """
        queued = {}
        for job_id, _ in self.jobs.queued_before(before):
            if job_id in delivered:
                continue
            record = self.jobs.get(job_id)
            if record is None or record["status"] != contract.QUEUED:
                self.jobs.recheck_queued(job_id, None)  # expired, or started and the index lagged
            else:
                queued[job_id] = record
        waiting = self.broker.waiting(contract.JOB_QUEUES, set(queued)) if queued else set()
        for job_id in waiting:
            self.jobs.recheck_queued(job_id, now)  # a long queue: look again a time limit later
        missing = set(queued) - waiting
        since = self.jobs.suspect(missing, now)
        confirmed = sorted(job_id for job_id, first in since.items() if first + self.settings.reaper_interval_s <= now)
        return [(job_id, queued[job_id]) for job_id in confirmed]

    def _requeue(
        self, job_id: str, record: dict[str, Any], action: str, actions: Counter[str], only_queued: bool = False
    ) -> None:
        queue = record["queue"]
        message = self.message_for(contract.TASK_NAMES[record["task"]], job_id, queue)
        if self.jobs.requeue(job_id, queue, message, only_queued) != "requeued":
            return
        actions[action] += 1
        log.warning(
            "job %s (%s, %s attempts): %s",
            job_id,
            record["status"],
            record.get("attempts"),
            REQUEUED_BECAUSE[action],
        )


class ReaperStep(bootsteps.StartStopStep):
    """Runs the reaper every REAPER_INTERVAL_S from the worker's main process, one worker at a time."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.timer_ref: Any = None

    def start(self, consumer: Any) -> None:
        settings: Settings = worker_app(consumer.app).scoring_settings
        if settings.reaper_interval_s <= 0 or self.timer_ref is not None:
            return
        client = create_redis(settings)
        channel = consumer.task_consumer.channel
        reaper = Reaper(
            settings,
            JobStore.for_settings(client, settings),
            BrokerMessages(client, channel.unacked_key, channel.unacked_index_key),
            lambda task, job_id, queue: job_message(consumer.app, task, job_id, queue),
        )
        self.timer_ref = consumer.timer.call_repeatedly(
            settings.reaper_interval_s, self._sweep, (consumer, reaper, client), priority=10
        )

    def stop(self, consumer: Any) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None

    shutdown = stop

    def _sweep(self, consumer: Any, reaper: Reaper, client: Any) -> None:
        try:
            # Never released: expiring, it also spaces the fleet's sweeps one interval apart.
            if client.set(contract.REAPER_LOCK, consumer.hostname, nx=True, ex=reaper.settings.reaper_interval_s):
                actions = reaper.sweep(time.time())
                if actions:
                    log.info("reaper: %s", dict(actions))
        except Exception:  # a failed sweep is retried at the next interval
            log.warning("reaper sweep failed", exc_info=True)
