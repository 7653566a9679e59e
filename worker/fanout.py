"""A global explanation as chunk tasks: any heavy process on any host runs a chunk; the sums are merged once.

The job's own task plans the chunks and sends the first EXPLAIN_CHUNKS_IN_FLIGHT
of them, then ends; the job stays running. Each chunk task computes its
customers' |SHAP| sums and records them (``fanout_record.lua``): once, whoever
computed them (a chunk redone after its worker was lost is not counted
again), the job's progress with them, and the next chunk it hands on, so one
job never has more than its share of chunks waiting or running. The chunk that
completes the set merges the sums, in chunk order, and finishes the job: the
same additions in the same order as one process would make, so the same
result. A canceled job's chunks stop at their next start, and nothing more is
handed on. If the completing process dies, a redelivered chunk completes again;
if a chunk message is lost, the reaper sends the job again and its plan resumes
(the chunks handed on and not recorded are sent again).
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

import numpy as np

from jobqueue import contract
from jobqueue.records import StartOutcome
from models.loader import LoadedModel
from worker.context import JobContext
from worker.errors import JobCanceled, JobFannedOut
from worker.job_log import log_finish
from worker.runtime import Runtime
from worker.shutdown import deferred_sigterm

log = logging.getLogger(__name__)


def explain_globally(job: JobContext) -> list[Any]:
    """The job's own task: the cached result, else the plan and its first chunks sent (raises JobFannedOut)."""
    params, model = job.params, job.model
    hit = job.runtime.redis.get(_cache_key(model, params))
    if hit is not None:
        return [{**json.loads(hit), "cached": True}]
    ids = _sample(model, params["sample_size"], params["seed"])
    chunks = math.ceil(len(ids) / job.runtime.settings.explain_chunk_rows)
    if chunks == 0:
        from models.credit import explain

        return [
            {"sample_size": 0, "seed": params["seed"], "importance": explain.importance(model, [], 0), "cached": False}
        ]
    state, send = job.runtime.jobs.plan_fanout(
        job.job_id, chunks, len(ids), job.runtime.settings.explain_chunks_in_flight
    )
    if state == "stopped":
        raise JobCanceled()
    for chunk in send:
        job.runtime.send_chunk(job.job_id, chunk)
    if state == "resumed" and not send:
        # Every chunk handed on is recorded: the one that completed the set did not finish the job.
        complete(job.runtime, job.job_id, model, params, chunks)
    log.info("job_fanned_out", extra={"job_id": job.job_id, "chunks": chunks, "sent": len(send), "plan": state})
    raise JobFannedOut()


def run_chunk(runtime: Runtime, job_id: str, chunk: int) -> str:
    """One chunk task: compute, record once, hand on the next chunk, complete the job if it was the last."""
    record = runtime.jobs.get(job_id)
    if record is None or record["status"] != contract.RUNNING:
        return "stopped"  # canceled, ended or expired: the chunk is not computed
    model = runtime.models.get(record["model"], record["model_version"])
    params = record["request"]["params"]
    ids = _sample(model, params["sample_size"], params["seed"])
    rows = runtime.settings.explain_chunk_rows
    part = ids[chunk * rows : (chunk + 1) * rows]
    from models.credit import explain  # shap: loaded only where chunks run

    # A platform stopping the worker signals this process too: it finishes the chunk first.
    computing = time.perf_counter()
    with deferred_sigterm():
        sums = explain.abs_sums(model, part)
    compute_ms = (time.perf_counter() - computing) * 1000
    state, handoff = runtime.jobs.record_chunk(job_id, chunk, len(part), sums)
    # Per chunk, so an operator (and bench.heavy) can tell the work from what fanning it out costs.
    log.info(
        "chunk_done",
        extra={
            "job_id": job_id,
            "chunk": chunk,
            "rows": len(part),
            "compute_ms": round(compute_ms, 1),
            "outcome": state,
        },
    )
    if handoff >= 0:
        runtime.send_chunk(job_id, handoff)
    if state == "complete":
        complete(runtime, job_id, model, params, math.ceil(len(ids) / rows))
    return state


def complete(runtime: Runtime, job_id: str, model: LoadedModel, params: dict[str, Any], chunks: int) -> None:
    """Merge every chunk's sums in chunk order and finish the job (a second completion records nothing)."""
    from models.credit import explain

    outcomes = runtime.jobs.chunk_outcomes(job_id, chunks)
    if any(part is None for part in outcomes):
        return  # another process completed the job and dropped its chunks
    sums: list[float] = []
    for part in outcomes:
        assert part is not None  # noqa: S101 - checked above; narrows the type
        sums = list(part) if not sums else [a + b for a, b in zip(sums, part, strict=True)]
    size = len(_sample(model, params["sample_size"], params["seed"]))
    result = {"sample_size": size, "seed": params["seed"], "importance": explain.importance(model, sums, size)}
    runtime.redis.set(_cache_key(model, params), json.dumps(result), ex=runtime.settings.job_ttl_s)
    started = time.perf_counter()
    finished = runtime.jobs.finish(job_id, contract.SUCCEEDED, result={**result, "cached": False})
    if finished.callback_due:
        runtime.callback_due(job_id)
    runtime.jobs.drop_fanout(job_id, chunks)
    start = StartOutcome(
        "run",
        model=model.manifest.name,
        model_version=model.manifest.version,
        task="explain",
        queue=contract.Q_HEAVY,
        attempts=0,
    )
    log_finish(job_id, start, contract.SUCCEEDED, finished.recorded, started, None)


def _cache_key(model: LoadedModel, params: dict[str, Any]) -> str:
    return contract.cache_key(
        "explain-global", model.manifest.name, model.manifest.version, params["sample_size"], params["seed"]
    )


# (model, version, size, seed) -> the sample: every chunk of a job draws the same one, and drawing it
# reads every customer id, so each process draws it once.
_SAMPLES: dict[tuple[str, str, int, int], np.ndarray] = {}
_SAMPLES_KEPT = 8


def _sample(model: LoadedModel, size: int, seed: int) -> np.ndarray:
    key = (model.manifest.name, model.manifest.version, size, seed)
    found = _SAMPLES.get(key)
    if found is None:
        from models.credit import explain

        if len(_SAMPLES) >= _SAMPLES_KEPT:
            _SAMPLES.pop(next(iter(_SAMPLES)))
        found = _SAMPLES[key] = explain.sample_ids(model, size, seed)
    return found
