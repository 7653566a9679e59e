"""One JSON log line per job transition a worker makes, naming the job but never its input or result."""

from __future__ import annotations

import logging
import time

from jobqueue import contract
from jobqueue.records import StartOutcome

# The logger name the README and the log tests know these lines by.
log = logging.getLogger("worker.runner")


def log_transition(event: str, job_id: str, start: StartOutcome, status: str, **fields: object) -> None:
    """A transition line with the job's model, version, queue, task and attempts."""
    log.info(
        event,
        extra={
            "job_id": job_id,
            "model": start.model,
            "model_version": start.model_version,
            "queue": start.queue,
            "task": start.task,
            "status": status,
            "attempts": start.attempts,
            **fields,
        },
    )


def log_start(job_id: str, start: StartOutcome) -> None:
    """The line of a delivery that did not run (missing, skipped, given up) or that starts running."""
    if start.action == "missing":
        log.warning(
            "job_missing", extra={"job_id": job_id, "reason": "no record (expired or never issued); message dropped"}
        )
    elif start.action == "skip":
        log.info("job_skipped", extra={"job_id": job_id, "status": start.detail})
    elif start.action == "give_up":
        log_transition(
            "job_finished", job_id, start, contract.FAILED, attempts=int(start.detail), error_type="worker_lost"
        )
    else:
        wait_ms = None if start.queue_wait_s is None else round(start.queue_wait_s * 1000, 1)
        log_transition("job_started", job_id, start, contract.RUNNING, queue_wait_ms=wait_ms)


def log_finish(
    job_id: str, start: StartOutcome, status: str, recorded: bool, started: float, error: dict[str, str] | None
) -> None:
    """The line of a job that ran; a job canceled meanwhile, or finished by an earlier delivery, keeps
    that outcome."""
    log_transition(
        "job_finished",
        job_id,
        start,
        status if recorded else "kept_earlier_outcome",
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        error_type=error["type"] if error else None,
    )
