"""Long jobs in resumable chunks: progress, cancellation between chunks, Redis checkpoints and a result cache.

A chunk is the unit of loss: after each one the running sums are saved under
``contract.checkpoint_key(job id)``, so a worker lost mid-job (a crash, a lost
broker connection) costs at most the chunk in flight, and the redelivered
message resumes from the checkpoint. Cancellation and a stopping worker
(worker.shutdown) are checked before every chunk: a stop costs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from jobqueue import contract
from worker.context import JobContext
from worker.errors import JobCanceled, JobInterrupted
from worker.shutdown import deferred_sigterm


def accumulate(
    job: JobContext, total: int, chunk_size: int, step: Callable[[int, int], Sequence[float]]
) -> list[float]:
    """Element-wise sum of ``step(start, stop)`` over [0, total), chunk by chunk; raises JobCanceled."""
    redis, key = job.runtime.redis, contract.checkpoint_key(job.job_id)
    done, sums = 0, None
    saved = redis.get(key)
    if saved is not None:
        state = json.loads(saved)
        if state["total"] == total:  # the same job id always plans the same work; guard anyway
            done, sums = state["done"], state["sums"]
    job.report_progress(done, total)
    with deferred_sigterm() as sigterm_received:
        while done < total:
            if job.canceled():
                redis.delete(key)
                raise JobCanceled()
            if sigterm_received() or job.worker_draining():
                raise JobInterrupted()  # the checkpoint stays for whoever resumes the job
            stop = min(done + chunk_size, total)
            part = step(done, stop)
            sums = list(part) if sums is None else [a + b for a, b in zip(sums, part, strict=True)]
            done = stop
            # JSON floats round-trip exactly, so a resumed job ends with the same sums.
            redis.set(key, json.dumps({"total": total, "done": done, "sums": sums}), ex=job.runtime.settings.job_ttl_s)
            job.report_progress(done, total)
    return sums or []


def cached(job: JobContext, key: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``compute()``'s result, reused by identical requests for the job TTL; marks it ``cached``."""
    redis = job.runtime.redis
    hit = redis.get(key)
    if hit is not None:
        return {**json.loads(hit), "cached": True}
    result = compute()
    pipe = redis.pipeline()
    pipe.set(key, json.dumps(result), ex=job.runtime.settings.job_ttl_s)
    # Only once the result is safe is the checkpoint dropped: a crash in between finds the cache.
    pipe.delete(contract.checkpoint_key(job.job_id))
    pipe.execute()
    return {**result, "cached": False}
