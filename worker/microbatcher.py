"""A Celery task strategy that scores predict messages in micro-batches.

Celery hands each message to a task's *strategy* in the worker's main
process. This one buffers predict messages and sends them to the pool
adaptively, the way Nagle's algorithm batches packets: while a pool process
is idle, a message goes at once (no added latency at low load); while every
process is busy, messages wait, and the next process to free up takes all of
them, up to ``batch_max_size`` (so batches grow with the load, with no timer
to tune). Each message is acknowledged only after the pool
reports that its job's outcome is recorded; if that failed, or the pool child
died or hit its hard time limit, the message is requeued. So acks_late and
reject_on_worker_lost keep their meaning per job.

Why not celery-batches: it caps Celery below 5.7, acknowledges a whole batch
whatever each job's outcome, and leaves a lost child's messages unacked until
the visibility timeout instead of requeueing them.

The worker needs a prefetch of at least ``batch_max_size`` for batches to
form (the Procfile sets ``--prefetch-multiplier`` for the fast worker).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Celery, Task, current_app

from worker.batch_runner import run_batch
from worker.kombu_transport import acks_together
from worker.runtime import runtime_for, worker_app

log = logging.getLogger(__name__)


def score_batch(job_ids: list[str], worker: str = "") -> dict[str, bool]:
    """Runs in a pool process: score the jobs, report which outcomes are recorded."""
    return run_batch(runtime_for(current_app), job_ids, worker)


class MicroBatcher:
    """The buffer and flush policy of one worker's predict messages."""

    def __init__(self, task: Task[Any, Any], app: Celery, consumer: Any) -> None:
        self.max_size = worker_app(app).scoring_settings.batch_max_size
        self.time_limits = (task.soft_time_limit, task.time_limit)
        self.pool = consumer.pool
        self.hostname: str = consumer.hostname  # recorded on each job it starts
        self.processes = max(1, getattr(consumer.pool, "limit", None) or 1)
        self.connection_errors = consumer.connection_errors
        self.buffer: list[tuple[str, Callable[..., Any], Callable[..., Any]]] = []
        self.in_flight = 0
        self.channel: Any = None  # the channel the messages arrive on, whose acks settle sends

    def on_message(
        self, message: Any, body: Any, ack: Callable[..., Any], reject: Callable[..., Any], callbacks: Any, **_: Any
    ) -> None:
        """Celery's strategy entry point: buffer the message; dispatch if a pool process is idle."""
        # Protocol 2 carries the task id in the headers; the job id is the task id.
        self.buffer.append((message.headers["id"], ack, reject))
        self.channel = message.channel
        if self.in_flight < self.processes:
            self.flush()

    def flush(self) -> None:
        """Send up to ``max_size`` buffered jobs to the pool as one batch."""
        batch, self.buffer = self.buffer[: self.max_size], self.buffer[self.max_size :]
        if not batch:
            return
        self.in_flight += 1
        channel = self.channel

        def settle(recorded: dict[str, bool]) -> None:
            self.in_flight -= 1
            try:
                with acks_together(channel):
                    for job_id, ack, reject in batch:
                        if recorded.get(job_id):
                            ack(log, self.connection_errors)
                        else:
                            reject(log, self.connection_errors, True)
            except self.connection_errors as exc:
                # Left unacked, the messages come back after the visibility timeout;
                # their jobs are recorded, so the redelivery only finds them done.
                log.critical("could not acknowledge a batch of %d messages: %r", len(batch), exc)
            # A process just freed up: hand it whatever gathered meanwhile.
            if self.in_flight < self.processes:
                self.flush()

        def lost(exc_info: Any) -> None:
            log.warning(
                "batch of %d jobs lost its pool process (%s); requeueing them",
                len(batch),
                getattr(exc_info, "exception", exc_info),
            )
            settle({})

        soft, hard = self.time_limits
        self.pool.apply_async(
            score_batch,
            args=([job_id for job_id, _, _ in batch], self.hostname),
            callback=settle,
            error_callback=lost,
            soft_timeout=soft,
            timeout=hard,
        )


class MicroBatchTask(Task[Any, Any]):
    """Base class of the predict task: the worker runs it through MicroBatcher."""

    # Celery instantiates ``Strategy``, usually a dotted path (celery-types types it str), with
    # (task, app, consumer); a method does as well and keeps the batcher beside its task.
    def Strategy(  # type: ignore[override]  # noqa: N802 - Celery's name
        self, task: Task[Any, Any], app: Celery, consumer: Any
    ) -> Callable[..., None]:
        return MicroBatcher(task, app, consumer).on_message
