"""Global explanations as chunk tasks, run in-process against real Redis and real task messages.

The job's task plans the chunks and queues the first few; each chunk, run here
as a heavy worker would run it (``worker.fanout.run_chunk``), records its sums
once and hands on the next. A chunk's message is taken off the heavy queue as
a worker's BRPOP would, so a dropped or repeated message is a real one.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import redis as redis_lib
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.settings import Settings
from worker.fanout import run_chunk
from worker.runner import run_job
from worker.runtime import Runtime

SAMPLE, ROWS, IN_FLIGHT = 2000, 300, 3  # 7 chunks, the last one short
CHUNKS = -(-SAMPLE // ROWS)
GLOBAL = {"model": "credit", "task": "explain", "params": {"scope": "global", "sample_size": SAMPLE, "seed": 4}}


def _settings(idle_settings: Settings) -> Settings:
    return idle_settings.replace(explain_chunk_rows=ROWS, explain_chunks_in_flight=IN_FLIGHT)


def _next_chunk(client: redis_lib.Redis) -> dict[str, Any] | None:
    """Take the next chunk message off the heavy queue, as a worker would: its kwargs."""
    raw = client.rpop(contract.Q_HEAVY)
    if raw is None:
        return None
    message = json.loads(raw)
    assert message["headers"]["task"] == contract.EXPLAIN_CHUNK
    kwargs: dict[str, Any] = json.loads(base64.b64decode(message["body"]))[1]
    return kwargs


def _expected(runtime: Runtime) -> dict[str, float]:
    """What one process computes for the same sample, from the model directly."""
    from models.credit import explain

    model = runtime.models.get("credit")
    ids = explain.sample_ids(model, SAMPLE, 4)
    sums: list[float] = []
    for start in range(0, SAMPLE, ROWS):
        part = explain.abs_sums(model, ids[start : start + ROWS])
        sums = list(part) if not sums else [a + b for a, b in zip(sums, part, strict=True)]
    return explain.importance(model, sums, SAMPLE)


def _planned(idle_client: FlaskClient, idle_settings: Settings) -> tuple[Runtime, redis_lib.Redis, str]:
    """A global explanation submitted and planned here, as a heavy worker would: its first chunks queued."""
    runtime = Runtime.create(_settings(idle_settings))
    job_id = idle_client.post("/jobs", json=GLOBAL).json["id"]
    runtime.redis.delete(contract.Q_HEAVY)  # the job's own message: run here instead
    assert run_job(runtime, job_id) == "fanned_out"
    return runtime, runtime.redis, job_id


def test_chunks_merge_into_the_single_process_answer_with_progress_and_at_most_their_share_queued(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    runtime, client, job_id = _planned(idle_client, idle_settings)
    assert client.llen(contract.Q_HEAVY) == IN_FLIGHT
    progress = []
    while (chunk := _next_chunk(client)) is not None:
        assert client.llen(contract.Q_HEAVY) < IN_FLIGHT  # one job never has more than its share queued
        run_chunk(runtime, **chunk)
        progress.append(idle_client.get(f"/jobs/{job_id}").json["progress"])
    job = idle_client.get(f"/jobs/{job_id}").json
    assert job["status"] == "succeeded" and job["attempts"] == 1
    assert job["result"]["importance"] == _expected(runtime)  # the same additions in the same order
    assert [p["done"] for p in progress] == [min(SAMPLE, ROWS * n) for n in range(1, CHUNKS + 1)]
    assert {p["total"] for p in progress} == {SAMPLE}
    assert not list(client.scan_iter(contract.fanout_key(job_id) + "*"))  # the plan is gone with the job


def test_a_chunk_computed_twice_is_counted_once_and_a_lost_chunk_is_sent_again_by_the_plan(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    runtime, client, job_id = _planned(idle_client, idle_settings)
    first = _next_chunk(client)
    assert first is not None
    assert run_chunk(runtime, **first) == "ok"
    done = idle_client.get(f"/jobs/{job_id}").json["progress"]["done"]
    assert run_chunk(runtime, **first) == "duplicate"  # redelivered after its worker was lost
    assert idle_client.get(f"/jobs/{job_id}").json["progress"]["done"] == done
    lost = _next_chunk(client)  # its worker died holding it; the message is gone
    assert lost is not None
    # The reaper sends the job again: its plan resumes, sending what was handed on and never recorded.
    assert run_job(runtime, job_id) == "fanned_out"
    while (chunk := _next_chunk(client)) is not None:
        run_chunk(runtime, **chunk)
    job = idle_client.get(f"/jobs/{job_id}").json
    assert job["status"] == "succeeded" and job["attempts"] == 2
    assert job["result"]["importance"] == _expected(runtime)


def test_a_canceled_explanation_stops_its_chunks_and_records_nothing_more(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    runtime, client, job_id = _planned(idle_client, idle_settings)
    first = _next_chunk(client)
    assert first is not None
    run_chunk(runtime, **first)
    assert idle_client.delete(f"/jobs/{job_id}").json["status"] == "canceled"
    ran = [run_chunk(runtime, **chunk) for chunk in iter(lambda: _next_chunk(client), None)]
    assert ran == ["stopped"] * IN_FLIGHT  # the queued ones start, see the cancel, and hand on nothing
    job = idle_client.get(f"/jobs/{job_id}").json
    assert job["status"] == "canceled" and job["result"] is None and job["progress"]["done"] == ROWS


def test_when_the_completing_process_dies_a_redelivered_last_chunk_completes_the_job(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    from models.credit import explain

    runtime, client, job_id = _planned(idle_client, idle_settings)
    held = None
    while (chunk := _next_chunk(client)) is not None:
        if chunk["chunk"] == CHUNKS - 1:
            held = chunk  # the last chunk: run below, as a process that dies after recording it
            continue
        run_chunk(runtime, **chunk)
    assert held is not None
    model = runtime.models.get("credit")
    tail = explain.sample_ids(model, SAMPLE, 4)[(CHUNKS - 1) * ROWS :]
    state, _ = runtime.jobs.record_chunk(job_id, CHUNKS - 1, len(tail), explain.abs_sums(model, tail))
    assert state == "complete" and idle_client.get(f"/jobs/{job_id}").json["status"] == "running"
    assert run_chunk(runtime, **held) == "complete"  # its message, redelivered
    job = idle_client.get(f"/jobs/{job_id}").json
    assert job["status"] == "succeeded" and job["result"]["importance"] == _expected(runtime)


def test_an_identical_request_reuses_the_result(idle_client: FlaskClient, idle_settings: Settings) -> None:
    runtime = Runtime.create(_settings(idle_settings))
    client = runtime.redis
    first, again = (idle_client.post("/jobs", json=GLOBAL).json["id"] for _ in range(2))
    client.delete(contract.Q_HEAVY)
    run_job(runtime, first)
    while (chunk := _next_chunk(client)) is not None:
        run_chunk(runtime, **chunk)
    assert run_job(runtime, again) == "succeeded" and client.llen(contract.Q_HEAVY) == 0
    results = [idle_client.get(f"/jobs/{job_id}").json["result"] for job_id in (first, again)]
    assert results[0]["importance"] == results[1]["importance"]
    assert (results[0]["cached"], results[1]["cached"]) == (False, True)


def test_running_fast_job_still_cannot_be_canceled(idle_client: FlaskClient, idle_settings: Settings) -> None:
    job_id = idle_client.post("/jobs", json={"model": "credit", "input": {"customer_id": 100002}}).json["id"]
    Runtime.create(idle_settings).jobs.start(job_id)
    response = idle_client.delete(f"/jobs/{job_id}")
    assert response.status_code == 409 and response.json["error"]["type"] == "not_cancelable"


def test_customer_missing_at_run_time_fails_the_job_clearly(idle_client: FlaskClient, idle_settings: Settings) -> None:
    job_id = idle_client.post("/jobs", json={"model": "credit", "input": {"customer_id": 100002}}).json["id"]
    # What a customer table changed behind the manifest's back would do (the web checked the id).
    broker = redis_lib.Redis.from_url(idle_settings.redis_url)
    request = json.loads(broker.hget(contract.job_key(job_id), "request"))
    request["records"][0]["customer_id"] = 42
    broker.hset(contract.job_key(job_id), "request", json.dumps(request))
    assert run_job(Runtime.create(idle_settings), job_id) == "failed"
    error = idle_client.get(f"/jobs/{job_id}").json["error"]
    assert error["type"] == "unknown_customer" and "42" in error["message"]
