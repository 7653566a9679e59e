"""Global explanations in chunks, run in-process against real Redis: cancellation, resumption, failures."""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.settings import Settings
from worker import chunked
from worker.context import JobContext
from worker.errors import JobCanceled
from worker.runner import run_job
from worker.runtime import Runtime

GLOBAL = {"model": "credit", "task": "explain", "params": {"scope": "global", "sample_size": 2000}}


def _running_job(client: FlaskClient, runtime: Runtime) -> JobContext:
    job_id = client.post("/jobs", json=GLOBAL).json["id"]
    assert runtime.jobs.start(job_id).action == "run"
    return JobContext(runtime, job_id, runtime.models.get("credit"), [], {})


def _step(calls: list[int], fail_at: int | None = None) -> Any:
    def step(start: int, stop: int) -> list[float]:
        if start == fail_at:
            raise RuntimeError("worker lost mid-chunk")
        calls.append(start)
        return [float(sum(range(start, stop))), float(stop - start)]

    return step


def test_chunk_loop_stops_before_the_next_chunk_once_canceled(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    job = _running_job(idle_client, Runtime.create(idle_settings))
    checks = iter([False, False, True])

    @dataclasses.dataclass(frozen=True)
    class CanceledAfterTwoChunks(JobContext):
        def canceled(self) -> bool:
            return next(checks)

    calls: list[int] = []
    with pytest.raises(JobCanceled):
        chunked.accumulate(CanceledAfterTwoChunks(**vars(job)), 1000, 100, _step(calls))
    assert calls == [0, 100]
    assert idle_client.get(f"/jobs/{job.job_id}").json["progress"] == {"done": 200, "total": 1000}
    assert job.runtime.redis.get(contract.checkpoint_key(job.job_id)) is None


def test_redelivered_job_resumes_from_its_last_checkpoint(idle_client: FlaskClient, idle_settings: Settings) -> None:
    runtime = Runtime.create(idle_settings)
    job = _running_job(idle_client, runtime)
    lost: list[int] = []
    with pytest.raises(RuntimeError):
        chunked.accumulate(job, 1000, 300, _step(lost, fail_at=600))
    assert json.loads(runtime.redis.get(contract.checkpoint_key(job.job_id)))["done"] == 600
    resumed: list[int] = []
    sums = chunked.accumulate(job, 1000, 300, _step(resumed))
    assert lost == [0, 300] and resumed == [600, 900]
    assert sums == [float(sum(range(1000))), 1000.0]


def test_client_cancel_of_a_running_global_explanation_records_nothing_more(
    idle_client: FlaskClient, idle_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.credit import explain

    first_chunk = threading.Event()
    cancel_sent = threading.Event()
    chunks: list[int] = []
    real = explain.abs_sums

    def gated(model: Any, ids: Any) -> list[float]:
        chunks.append(len(ids))
        first_chunk.set()
        cancel_sent.wait(10)
        return real(model, ids)

    monkeypatch.setattr(explain, "abs_sums", gated)
    job_id = idle_client.post("/jobs", json=GLOBAL).json["id"]
    outcome: list[str] = []
    runtime = Runtime.create(idle_settings.replace(explain_chunk_rows=500))
    worker = threading.Thread(target=lambda: outcome.append(run_job(runtime, job_id)))
    worker.start()
    assert first_chunk.wait(30)
    response = idle_client.delete(f"/jobs/{job_id}")
    cancel_sent.set()
    worker.join(30)
    assert response.status_code == 200 and response.json["status"] == "canceled"
    assert outcome == ["canceled"] and chunks == [500]
    job = idle_client.get(f"/jobs/{job_id}").json
    assert job["status"] == "canceled" and job["result"] is None and job["progress"]["done"] == 0
    assert not list(runtime.redis.scan_iter(contract.PREFIX + "c*:*"))


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
