"""One job's lifecycle, free of Celery: start it, run its model, record exactly one outcome."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis

from jobqueue import contract
from worker import handlers
from worker.context import JobContext
from worker.errors import JobCanceled, JobFannedOut
from worker.failures import describe_failure, worker_lost
from worker.job_log import log_finish, log_start
from worker.runtime import Runtime

log = logging.getLogger(__name__)


def run_job(runtime: Runtime, job_id: str, worker: str = "") -> str:
    """Run a job delivered to ``worker``; returns what happened ('succeeded', 'failed', 'skipped', ...).

    Redis connection errors propagate: the caller must not acknowledge the
    message, so the job is redelivered once Redis is back.
    """
    outcome = runtime.jobs.start(job_id, worker)
    log_start(job_id, outcome)
    if outcome.action == "missing":
        return "missing"
    if outcome.action == "skip":
        if outcome.callback_unsent:
            runtime.callback_due(job_id)
        return "skipped"
    if outcome.action == "give_up":
        _finish(runtime, job_id, contract.FAILED, error=worker_lost(outcome.detail))
        return contract.FAILED
    started = time.perf_counter()
    status, result, error = contract.FAILED, None, None
    try:
        model = runtime.models.get(outcome.model, outcome.model_version)
        handler = handlers.resolve(model.manifest.kind, outcome.task)
        request = outcome.request or {}
        context = JobContext(runtime, job_id, model, request["records"], request.get("params", {}), worker)
        results = handler(context)
        result = results if request.get("batch") else results[0]
        status = contract.SUCCEEDED
    except JobCanceled:
        # The record already says canceled; the finish below leaves it so.
        status = contract.CANCELED
    except JobFannedOut:
        # Its chunk tasks finish it (worker.fanout); it stays running meanwhile.
        return "fanned_out"
    except (redis.ConnectionError, redis.TimeoutError):
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a readable job error
        error = describe_failure(exc, job_id)
    recorded = _finish(runtime, job_id, status, result=result, error=error)
    log_finish(job_id, outcome, status, recorded, started, error)
    return status


def _finish(
    runtime: Runtime, job_id: str, status: str, result: Any = None, error: dict[str, str] | None = None
) -> bool:
    finished = runtime.jobs.finish(job_id, status, result=result, error=error)
    if finished.callback_due:
        runtime.callback_due(job_id)
    return finished.recorded
