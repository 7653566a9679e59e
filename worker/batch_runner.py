"""Scoring a micro-batch of predict jobs: one start, one vectorised call per model and params, one finish.

scikit-learn's per-call overhead dwarfs the per-row cost, so the jobs waiting
together are scored together. Every guarantee of a single job holds per job:
each is started and finished through the same atomic scripts, and a job's
message is acknowledged only when this returns True for it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis
from billiard.exceptions import SoftTimeLimitExceeded

from jobqueue import contract
from jobqueue.records import Outcome, StartOutcome
from worker import handlers
from worker.errors import JobError
from worker.failures import describe_failure, worker_lost
from worker.job_log import log_finish, log_start
from worker.runtime import Runtime

log = logging.getLogger(__name__)

Member = tuple[str, StartOutcome]


def run_batch(runtime: Runtime, job_ids: Sequence[str], worker: str = "") -> dict[str, bool]:
    """Run predict jobs together; job id -> True once its outcome is recorded (or it needs none).

    False means "redeliver": Redis failed before the outcome was safely written.
    """
    try:
        starts = runtime.jobs.start_many(job_ids, worker)
    except (redis.ConnectionError, redis.TimeoutError):
        return dict.fromkeys(job_ids, False)
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    groups: dict[tuple[str, str, str], list[Member]] = {}
    for job_id, start in zip(job_ids, starts, strict=True):
        log_start(job_id, start)
        if start.action == "skip" and start.callback_unsent:
            runtime.callback_due(job_id)  # finished earlier, but its callback was never queued
        if start.action == "give_up":
            outcomes.append(Outcome(job_id, contract.FAILED, error=worker_lost(start.detail)))
        elif start.action == "run":
            params = json.dumps((start.request or {}).get("params", {}), sort_keys=True)
            groups.setdefault((start.model, start.model_version, params), []).append((job_id, start))
    try:
        for (name, version, _), members in groups.items():
            outcomes += _score(runtime, name, version, members)
        log.info("scored a batch of %d jobs in %d model call(s)", len(job_ids), len(groups))
    except SoftTimeLimitExceeded as exc:
        done = {o.job_id for o in outcomes}
        outcomes += [
            Outcome(job_id, contract.FAILED, error=describe_failure(exc, job_id))
            for members in groups.values()
            for job_id, _ in members
            if job_id not in done
        ]
    try:
        finished = runtime.jobs.finish_many(outcomes)
    except (redis.ConnectionError, redis.TimeoutError):
        unrecorded = {o.job_id for o in outcomes}
        return {job_id: job_id not in unrecorded for job_id in job_ids}
    ran = dict(zip(job_ids, starts, strict=True))
    for outcome, finish in zip(outcomes, finished, strict=True):
        if finish.callback_due:
            runtime.callback_due(outcome.job_id)
        if ran[outcome.job_id].action == "run":  # a given-up job's line was written at its start
            # Jobs scored together share the batch's time.
            log_finish(outcome.job_id, ran[outcome.job_id], outcome.status, bool(finish), started, outcome.error)
    return dict.fromkeys(job_ids, True)


def _score(runtime: Runtime, name: str, version: str, members: list[Member]) -> list[Outcome]:
    """One model call for every record of ``members``; on failure, isolate the job that caused it."""
    try:
        model = runtime.models.get(name, version)
        predictor = handlers.PREDICTORS.get(model.manifest.kind)
        if predictor is None or any(start.task != "predict" for _, start in members):
            raise JobError(
                "unsupported_task",
                f"this worker cannot batch-score models of kind "
                f"{model.manifest.kind!r}; its code may be older than the web's",
            )
        requests = [start.request or {} for _, start in members]
        records = [record for request in requests for record in request["records"]]
        results = predictor(model, records, requests[0].get("params", {}))
    except (SoftTimeLimitExceeded, redis.ConnectionError, redis.TimeoutError):
        raise
    except Exception as exc:  # noqa: BLE001 - turned into each job's readable error
        if len(members) > 1:
            # One bad job must not fail its neighbours: score them one by one.
            return [outcome for member in members for outcome in _score(runtime, name, version, [member])]
        return [Outcome(members[0][0], contract.FAILED, error=describe_failure(exc, members[0][0]))]
    outcomes, offset = [], 0
    for (job_id, _), request in zip(members, requests, strict=True):
        count = len(request["records"])
        mine: Any = results[offset : offset + count]
        offset += count
        outcomes.append(Outcome(job_id, contract.SUCCEEDED, result=mine if request.get("batch") else mine[0]))
    return outcomes
