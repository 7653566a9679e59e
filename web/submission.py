"""Turning a validated request into a recorded, queued job, or into nothing at all.

Admission (a full queue, a tenant over its rate) is checked by the job store's
create script in the same round trip that records the job, so it costs no
extra trip and a refused request leaves nothing behind. Under concurrent
submissions the depth limit is exact (the script is atomic); the rate counts
refused attempts too, as a fixed window does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
import uuid
from typing import Any

from celery import Celery

from jobqueue import contract
from jobqueue.callback_targets import UnsafeCallbackUrl, check_callback_url
from jobqueue.messages import job_message
from jobqueue.queues import broker_lists
from jobqueue.records import IdempotencyConflict, Limits, NewJob, Refused
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from models.validation import InputInvalid, validate_job
from web.catalog import ModelCatalog
from web.errors import ApiError
from web.schemas import JobRequest

log = logging.getLogger(__name__)

# A training run takes minutes (fitting, a grid search); asking again sooner only adds load.
TRAIN_RETRY_AFTER_S = 60


def body_fingerprint(body: Any) -> str:
    """Hash of the request body in canonical form, so key order and spacing do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Submitter:
    """Validates against the model, then admits, records and queues the job in one atomic Redis call."""

    def __init__(self, settings: Settings, jobs: JobStore, celery: Celery, catalog: ModelCatalog) -> None:
        self.settings = settings
        self.jobs = jobs
        self.celery = celery
        self.catalog = catalog
        self.max_depth = {
            contract.Q_FAST: settings.max_queue_depth_fast,
            contract.Q_HEAVY: settings.max_queue_depth_heavy,
        }

    def submit(
        self, request: JobRequest, body: Any, idempotency_key: str | None, tenant: str = "", job_id: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Returns (job record, created); raises ApiError for anything the client must fix, or 429.

        ``job_id`` lets the caller listen for the job's end before it exists.
        """
        if request.inputs is not None and len(request.inputs) > self.settings.max_batch_size:
            raise ApiError(
                422,
                "validation_error",
                "the batch is too large",
                [
                    {
                        "field": "inputs",
                        "type": "too_long",
                        "message": f"at most {self.settings.max_batch_size} records per job; split the batch",
                    }
                ],
            )
        manifest = self.catalog.manifest(request.model, request.model_version)
        try:
            job = validate_job(manifest, request.task, request.records, request.inputs is not None, request.params)
        except InputInvalid as exc:
            raise ApiError(422, "validation_error", "the input does not fit the model's schema", exc.details) from exc
        task_name = contract.TASK_NAMES.get(job.task)
        if task_name is None:
            raise ApiError(
                422,
                "validation_error",
                f"task {job.task!r} cannot be queued",
                [{"field": "task", "type": "unknown_task", "message": "no worker runs this task"}],
            )
        if request.callback_url is not None:
            self._check_callback(request.callback_url)
        job_id, queue = job_id or uuid.uuid4().hex, contract.TASK_QUEUES[task_name]
        new = NewJob(
            id=job_id,
            model=manifest.name,
            model_version=manifest.version,
            task=job.task,
            queue=queue,
            request={"records": job.records, "batch": job.batch, "params": job.params},
            total=job.total,
            idempotency_key=idempotency_key,
            # Only a replayed key compares bodies; canonical JSON of a 10,000-record batch costs ~30 ms.
            body_hash=body_fingerprint(body) if idempotency_key is not None else "",
            tenant=tenant,
            callback_url=request.callback_url,
            # The job id doubles as the Celery task id.
            message=job_message(self.celery, task_name, job_id, queue),
        )
        now = time.time()
        try:
            limits = self.limits(tenant, queue, now, training=manifest.name if task_name == contract.TRAIN else None)
            record, created = self.jobs.create(new, limits)
        except Refused as exc:
            raise self.refusal(exc, queue, now, tenant, manifest.name) from exc
        except IdempotencyConflict as exc:
            raise ApiError(
                409,
                "idempotency_conflict",
                f"this Idempotency-Key was already used with a different body (job {exc.job_id}); "
                "use a new key for a new request",
            ) from exc
        if created:
            log.info(
                "job_queued",
                extra={
                    "job_id": new.id,
                    "model": new.model,
                    "model_version": new.model_version,
                    "queue": new.queue,
                    "task": new.task,
                    "status": contract.QUEUED,
                },
            )
        return record, created

    def limits(self, tenant: str, queue: str, now: float, training: str | None = None) -> Limits:
        """The admission limits of a submission at ``now`` (epoch seconds); ``training``: the model it trains.

        The rate counts a tenant's submissions per fixed window; the open
        service (tenant "") has no key to count against, so only depth applies.
        A model trains one job at a time, whoever submitted it: each one
        writes a version into the store every process reads.
        """
        rate, window_s = (self.settings.rate_limit_per_key if tenant else 0), self.settings.rate_limit_window_s
        max_depth = self.max_depth.get(queue, 0)
        return Limits(
            rate=rate,
            rate_key=contract.rate_key(tenant, int(now // window_s)) if rate else "-",
            rate_ttl_s=window_s + 1,
            max_depth=max_depth,
            depth_lists=tuple(broker_lists(queue)) if max_depth else (),
            one_at_a_time=contract.training_key(training) if training else "-",
        )

    def refusal(self, refused: Refused, queue: str, now: float, tenant: str = "", model: str = "") -> ApiError:
        """The 429 a refused submission gets, with the Retry-After that fits its reason."""
        if refused.reason == "train_in_progress":
            # Another tenant's job id is not this tenant's to know (GET would answer 404).
            which = f"job {refused.holder}" if refused.holder_tenant == tenant else "a job of another tenant"
            return ApiError(
                429,
                "train_in_progress",
                f"model {model!r} already has a train job queued or running ({which}); one trains at a time, "
                "retry once it has ended",
                headers={"Retry-After": str(TRAIN_RETRY_AFTER_S)},
            )
        if refused.reason == "rate_limited":
            rate, window_s = self.settings.rate_limit_per_key, self.settings.rate_limit_window_s
            wait = max(1, math.ceil((now // window_s + 1) * window_s - now))
            return ApiError(
                429,
                "rate_limited",
                f"this key's tenant may submit {rate} jobs per {window_s} s; retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        return ApiError(
            429,
            "queue_full",
            f"the {queue} queue holds {refused.count} jobs, its limit; nothing was accepted, retry later",
            headers={"Retry-After": str(self.settings.retry_after_s)},
        )

    def _check_callback(self, url: str) -> None:
        reason = None
        if not self.settings.callback_secret:
            reason = "this service has no CALLBACK_SECRET configured, so it cannot sign callbacks"
        else:
            try:
                check_callback_url(url, self.settings)
            except UnsafeCallbackUrl as exc:
                reason = str(exc)
        if reason:
            raise ApiError(
                422,
                "validation_error",
                "the callback_url cannot be used",
                [{"field": "callback_url", "type": "refused", "message": reason}],
            )
