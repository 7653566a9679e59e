"""Thin Celery tasks: unpack the message, run the job or deliver its callback, and never acknowledge
an unrecorded outcome."""

from __future__ import annotations

from typing import Any

import redis
from celery import Task, shared_task
from celery.exceptions import Reject

from jobqueue import contract
from worker.fanout import run_chunk
from worker.microbatcher import MicroBatchTask
from worker.runner import run_job
from worker.runtime import runtime_for


def _run(task: Task[Any, Any], job_id: str) -> str:
    try:
        return run_job(runtime_for(task.app), job_id, worker=task.request.hostname or "")
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        # The outcome could not be recorded: put the message back rather than ack it.
        raise Reject(f"redis unavailable: {exc}", requeue=True) from exc


@shared_task(name=contract.DELIVER_CALLBACK, bind=True, max_retries=None)
def deliver_callback(self: Task[Any, Any], job_id: str, attempt: int = 1) -> str:
    """POST a finished job to its callback URL; on failure, come back later for the next attempt."""
    try:
        retry_in = runtime_for(self.app).callbacks.deliver(job_id, attempt)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise Reject(f"redis unavailable: {exc}", requeue=True) from exc
    if retry_in is None:
        return "done"
    raise self.retry(kwargs={"job_id": job_id, "attempt": attempt + 1}, countdown=retry_in, queue=contract.Q_CALLBACKS)


@shared_task(name=contract.PREDICT, bind=True, base=MicroBatchTask)
def predict(self: Task[Any, Any], job_id: str) -> str:
    """Score a predict job (workers deliver these in micro-batches; see worker.microbatcher)."""
    return _run(self, job_id)


@shared_task(name=contract.EXPLAIN, bind=True)
def explain(self: Task[Any, Any], job_id: str) -> str:
    """Run an explanation job (heavy queue)."""
    return _run(self, job_id)


@shared_task(name=contract.EXPLAIN_CHUNK, bind=True)
def explain_chunk(self: Task[Any, Any], job_id: str, chunk: int) -> str:
    """Run one chunk of a global explanation (heavy queue); see worker.fanout."""
    try:
        return run_chunk(runtime_for(self.app), job_id, chunk)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise Reject(f"redis unavailable: {exc}", requeue=True) from exc


@shared_task(name=contract.TRAIN, bind=True)
def train(self: Task[Any, Any], job_id: str) -> str:
    """Run a training job (heavy queue)."""
    return _run(self, job_id)
