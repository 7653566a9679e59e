"""Credit jobs through the front door: validation at submit, scoring and explanations by the real worker."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.settings import Settings
from tests.support.data import CUSTOMER, LOCAL, PREDICT, SIGNUP, explain_global, store_at
from tests.support.processes import WorkerProcess, eventually
from web.app import create_app


def _features(model_dir: Path) -> list[str]:
    return [f["name"] for f in store_at(model_dir).manifest("credit").details["features"]]


# -- validation at submit: nothing invalid is ever queued -----------------------------------------


# -- the real worker -------------------------------------------------------------------------------


def test_predict_by_customer_id_returns_probability_threshold_and_decision(live_client: FlaskClient) -> None:
    job = live_client.post("/jobs?wait=20", json=PREDICT).json
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert set(result) == {"probability", "threshold", "decision"} and result["threshold"] == 0.6
    assert result["decision"] == ("refused" if result["probability"] >= 0.6 else "accepted")


def test_default_threshold_is_the_models_recommended_one(live_client: FlaskClient) -> None:
    recommended = live_client.get("/models/credit").json["metrics"]["recommended_threshold"]
    job = live_client.post("/jobs?wait=20", json={"model": "credit", "input": {"customer_id": CUSTOMER}}).json
    assert job["result"]["threshold"] == recommended


def test_raw_features_score_like_the_customer_they_describe(live_client: FlaskClient) -> None:
    customer = live_client.get(f"/customers/{CUSTOMER}").json
    job = live_client.post(
        "/jobs?wait=20",
        json={"model": "credit", "inputs": [{"customer_id": CUSTOMER}, {"features": customer["features"]}]},
    ).json
    assert job["status"] == "succeeded" and job["result"][0] == job["result"][1]


def test_local_explanation_adds_up_to_the_predicted_probability(live_client: FlaskClient, model_dir: Path) -> None:
    explained = live_client.post("/jobs?wait=30", json=LOCAL).json
    assert explained["status"] == "succeeded", explained
    assert explained["progress"] == {"done": 1, "total": 1}
    result = explained["result"]
    predicted = live_client.post("/jobs?wait=20", json=PREDICT).json["result"]["probability"]
    assert list(result["contributions"]) == _features(model_dir)
    log_odds = result["base_value"] + sum(result["contributions"].values())
    assert 1 / (1 + math.exp(-log_odds)) == pytest.approx(predicted, abs=1e-9)
    assert result["probability"] == pytest.approx(predicted, abs=1e-12)
    impacts = [abs(r["contribution"]) for r in result["top_reasons"]]
    assert len(impacts) == 5 and impacts == sorted(impacts, reverse=True)
    assert impacts[0] == max(abs(v) for v in result["contributions"].values())


def test_global_explanation_reports_progress_and_ranks_every_feature(live_client: FlaskClient, model_dir: Path) -> None:
    job = live_client.post("/jobs?wait=30", json=explain_global(sample_size=1000, seed=1)).json
    assert job["status"] == "succeeded", job
    assert job["progress"] == {"done": 1000, "total": 1000}
    result = job["result"]
    assert result["sample_size"] == 1000 and result["seed"] == 1 and result["cached"] is False
    assert set(result["importance"]) == set(_features(model_dir))
    values = list(result["importance"].values())
    assert values == sorted(values, reverse=True) and values[0] > 0 and min(values) >= 0


def test_identical_global_explanation_reuses_the_cached_result(live_client: FlaskClient) -> None:
    first = live_client.post("/jobs?wait=30", json=explain_global(sample_size=500, seed=2)).json
    again = live_client.post("/jobs?wait=30", json=explain_global(sample_size=500, seed=2)).json
    other = live_client.post("/jobs?wait=30", json=explain_global(sample_size=500, seed=3)).json
    assert again["id"] != first["id"] and again["status"] == "succeeded"
    assert first["result"]["cached"] is False and again["result"]["cached"] is True
    assert again["result"]["importance"] == first["result"]["importance"]
    assert other["result"]["cached"] is False and other["result"]["importance"] != first["result"]["importance"]


@pytest.fixture
def split_workers(settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, dict[str, WorkerProcess]]]:
    """A fast-only and a heavy-only worker on a Redis database of their own, as the Procfile runs them."""
    # One customer per chunk stretches a global explanation of the small test
    # model over seconds, so other jobs demonstrably run while it does.
    own = settings.replace(redis_url=settings.redis_url.rsplit("/", 1)[0] + "/3", explain_chunk_rows=1)
    broker = redis_lib.Redis.from_url(own.redis_url)
    broker.flushdb()
    workers = {
        queue: WorkerProcess(own, role=queue, concurrency=1, log_path=tmp_path / f"{queue}.log")
        for queue in (contract.Q_FAST, contract.Q_HEAVY)
    }
    try:
        for worker in workers.values():
            worker.wait_ready()
        yield own, workers
    finally:
        for worker in workers.values():
            worker.proc.terminate()  # both warm shutdowns at once
        for worker in workers.values():
            worker.stop()
        broker.flushdb()


def _niceness(worker: WorkerProcess) -> set[int]:
    """The niceness of a worker's main process and of each of its pool processes."""
    main = psutil.Process(worker.proc.pid)
    return {process.nice() for process in [main, *main.children(recursive=True)]}


def test_fast_jobs_keep_flowing_while_a_global_explanation_runs(
    split_workers: tuple[Settings, dict[str, WorkerProcess]],
) -> None:
    own, workers = split_workers
    # On a shared host the heavy processes yield the CPU to the signup path; the fast ones do not.
    assert _niceness(workers[contract.Q_HEAVY]) == {own.heavy_nice} and own.heavy_nice > 0
    assert _niceness(workers[contract.Q_FAST]) == {0}
    client = create_app(own).test_client()
    heavy = client.post("/jobs", json=explain_global(sample_size=3000)).json
    eventually(
        lambda: client.get(f"/jobs/{heavy['id']}").json["progress"]["done"] > 0,
        30,
        message="global explanation under way",
    )
    for _ in range(5):
        signup = client.post("/jobs?wait=10", json=SIGNUP)
        assert signup.status_code == 200 and signup.json["status"] == "succeeded"
    # Fair share on the one heavy process: another heavy job waits behind a few chunks, not all 3,000.
    local = client.post("/jobs?wait=10", json=LOCAL)
    assert local.status_code == 200 and local.json["status"] == "succeeded", local.json
    during = client.get(f"/jobs/{heavy['id']}").json
    assert during["status"] == "running" and during["progress"]["done"] < 3000

    # A running heavy job can be canceled: its chunks not yet started stop as they start, and
    # nothing more is recorded, not even the chunk running at the time.
    canceled = client.delete(f"/jobs/{heavy['id']}")
    assert canceled.status_code == 200 and canceled.json["status"] == "canceled"
    broker = redis_lib.Redis.from_url(own.redis_url)
    eventually(lambda: broker.llen(contract.Q_HEAVY) == 0, 5, message="the queued chunks started and stopped")
    time.sleep(1)
    assert not list(broker.scan_iter(contract.cache_key("explain-global", "*")))
    final = client.get(f"/jobs/{heavy['id']}").json
    assert final["status"] == "canceled" and final["result"] is None and final["error"] is None
    assert final["progress"]["done"] == canceled.json["progress"]["done"]


def test_a_heavy_pool_process_grown_past_its_memory_limit_is_replaced_after_its_task(
    settings: Settings, tmp_path: Path
) -> None:
    own = settings.replace(redis_url=settings.redis_url.rsplit("/", 1)[0] + "/5", heavy_max_memory_mb=1)
    broker = redis_lib.Redis.from_url(own.redis_url)
    broker.flushdb()
    heavy = WorkerProcess(own, role=contract.Q_HEAVY, concurrency=1, log_path=tmp_path / "heavy.log")
    try:
        heavy.wait_ready()
        client = create_app(own).test_client()
        [first] = psutil.Process(heavy.proc.pid).children()
        done = client.post("/jobs?wait=30", json=LOCAL).json
        assert done["status"] == "succeeded"
        # Every process is past 1 MB: the one that ran the job makes way for a fresh one.
        eventually(
            lambda: [p.pid for p in psutil.Process(heavy.proc.pid).children()] not in ([], [first.pid]),
            30,
            message="the pool process replaced",
        )
        assert client.post("/jobs?wait=30", json=LOCAL).json["status"] == "succeeded"
    finally:
        heavy.stop()
        broker.flushdb()
