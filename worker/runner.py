"""One job's lifecycle, free of Celery: start it, run its model, record exactly one outcome."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
from billiard.exceptions import SoftTimeLimitExceeded

from models.manifest import ArtifactRefused
from models.registry import LoadedModel
from worker import contract, handlers
from worker.errors import JobCanceled, JobError, JobInterrupted
from worker.jobstore import StartOutcome
from worker.logs import exception_fields
from worker.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = ["JobCanceled", "JobContext", "JobError", "JobInterrupted", "run_job"]


@dataclass(frozen=True)
class JobContext:
    """Everything a model handler sees: the model, the records, the parameters, and progress."""

    runtime: Runtime
    job_id: str
    model: LoadedModel
    records: list[dict[str, Any]]
    params: dict[str, Any]
    worker: str = ""

    def report_progress(self, done: int, total: int) -> None:
        self.runtime.jobs.progress(self.job_id, done, total)

    def canceled(self) -> bool:
        """True once the client canceled the job (long handlers check between chunks)."""
        record = self.runtime.jobs.get(self.job_id)
        return record is None or record["status"] == contract.CANCELED

    def worker_draining(self) -> bool:
        """True once this job's worker is shutting down (long handlers check between chunks)."""
        return bool(self.worker) and bool(self.runtime.redis.exists(contract.draining_key(self.worker)))

def log_transition(event: str, job_id: str, start: StartOutcome, status: str, **fields: object) -> None:
    """One JSON line per job transition, naming the job but never its input or result."""
    log.info(event, extra={"job_id": job_id, "model": start.model, "model_version": start.model_version,
                           "queue": start.queue, "task": start.task, "status": status,
                           "attempts": start.attempts, **fields})


def log_start(job_id: str, start: StartOutcome) -> None:
    """The line of a delivery that did not run (missing, skipped, given up) or that starts running."""
    if start.action == "missing":
        log.warning("job_missing", extra={"job_id": job_id, "reason": "no record (expired or never issued); "
                                                                     "message dropped"})
    elif start.action == "skip":
        log.info("job_skipped", extra={"job_id": job_id, "status": start.detail})
    elif start.action == "give_up":
        log_transition("job_finished", job_id, start, contract.FAILED, attempts=int(start.detail),
                       error_type="worker_lost")
    else:
        wait_ms = None if start.queue_wait_s is None else round(start.queue_wait_s * 1000, 1)
        log_transition("job_started", job_id, start, contract.RUNNING, queue_wait_ms=wait_ms)


def log_finish(job_id: str, start: StartOutcome, status: str, recorded: bool, started: float,
               error: dict[str, str] | None) -> None:
    """The line of a job that ran; a job canceled meanwhile, or finished by an earlier delivery, keeps
    that outcome."""
    log_transition("job_finished", job_id, start, status if recorded else "kept_earlier_outcome",
                   duration_ms=round((time.perf_counter() - started) * 1000, 1),
                   error_type=error["type"] if error else None)


def run_job(runtime: Runtime, job_id: str, worker: str = "") -> str:
    """Run a job delivered to ``worker``; returns what happened ('succeeded', 'failed', 'skipped', ...).

    Redis connection errors propagate: the caller must not acknowledge the
    message, so the job is redelivered once Redis is back. So does
    JobInterrupted, once the job is released: the caller requeues the message.
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
        model = runtime.registry.get(outcome.model, outcome.model_version)
        handler = handlers.resolve(model.manifest.kind, outcome.task)
        request = outcome.request or {}
        context = JobContext(runtime, job_id, model, request["records"], request.get("params", {}), worker)
        results = handler(context)
        result = results if request.get("batch") else results[0]
        status = contract.SUCCEEDED
    except JobCanceled:
        # The record already says canceled; the finish below leaves it so.
        status = contract.CANCELED
    except JobInterrupted:
        log.info("job %s stopped between chunks (its worker is stopping, or lost the broker); handing it back",
                 job_id)
        runtime.jobs.release(job_id)
        raise
    except (redis.ConnectionError, redis.TimeoutError):
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes a readable job error
        error = describe_failure(exc, job_id)
    recorded = _finish(runtime, job_id, status, result=result, error=error)
    log_finish(job_id, outcome, status, recorded, started, error)
    return status


def worker_lost(times: str) -> dict[str, str]:
    """The error of a job whose worker died every time it ran it."""
    return {"type": "worker_lost",
            "message": f"the worker running this job stopped {times} times (crash, out of memory or hard "
                       "time limit); it will not be retried. Submit a smaller batch or contact the operators."}


def describe_failure(exc: Exception, job_id: str) -> dict[str, str]:
    """A job error a person can act on, for anything a model handler raised."""
    if isinstance(exc, JobError):
        return {"type": exc.type, "message": str(exc)}
    if isinstance(exc, ArtifactRefused):
        return {"type": "model_unavailable", "message": f"{exc}. Retrain the model or activate another version."}
    if isinstance(exc, SoftTimeLimitExceeded):
        return {"type": "timeout", "message": "the job exceeded its time limit; split it into smaller jobs"}
    log.error("job_error", extra={"job_id": job_id, **exception_fields(exc)})
    return {"type": "internal_error", "message": f"the model failed: {type(exc).__name__}: {exc}"}


def _finish(runtime: Runtime, job_id: str, status: str, result: Any = None,
            error: dict[str, str] | None = None) -> bool:
    finished = runtime.jobs.finish(job_id, status, result=result, error=error)
    if finished.callback_due:
        runtime.callback_due(job_id)
    return finished.recorded
