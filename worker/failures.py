"""Job errors a person can act on, for whatever stopped a job: a handler's exception or a dying worker."""

from __future__ import annotations

import logging

from billiard.exceptions import SoftTimeLimitExceeded

from jobqueue.logs import exception_fields
from models.manifest import ArtifactRefused
from worker.errors import JobError

log = logging.getLogger("worker.runner")


def worker_lost(times: str) -> dict[str, str]:
    """The error of a job whose worker died every time it ran it."""
    return {
        "type": "worker_lost",
        "message": f"the worker running this job stopped {times} times (crash, out of memory or hard "
        "time limit); it will not be retried. Submit a smaller batch or contact the operators.",
    }


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
