"""Training is one job at a time per model: a second train job gets 429 train_in_progress until the first ends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import redis as redis_lib
import requests
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.settings import Settings
from jobqueue.store import JobStore
from tests.support.servers import serve_app
from web.app import create_app

TRAIN_IRIS = {"model": "iris", "task": "train", "params": {"estimator": "logreg"}}


def _heavy_messages(settings: Settings) -> int:
    return redis_lib.Redis.from_url(settings.redis_url).llen(contract.Q_HEAVY)


def test_a_second_train_job_of_a_model_is_429_until_the_first_ends(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    first = idle_client.post("/jobs", json=TRAIN_IRIS)
    assert first.status_code == 202
    second = idle_client.post("/jobs", json=dict(TRAIN_IRIS, params={"estimator": "svm"}))
    assert second.status_code == 429 and second.json["error"]["type"] == "train_in_progress"
    assert int(second.headers["Retry-After"]) > 0 and first.json["id"] in second.json["error"]["message"]
    # The refusal left nothing behind.
    assert [job["id"] for job in idle_client.get("/jobs").json["jobs"]] == [first.json["id"]]
    assert _heavy_messages(idle_settings) == 1
    # Another model trains meanwhile.
    assert idle_client.post("/jobs", json={"model": "interests", "task": "train"}).status_code == 202

    # Ended (here by a worker's finish script): the next one is accepted.
    store = JobStore.for_settings(redis_lib.Redis.from_url(idle_settings.redis_url), idle_settings)
    assert store.start(first.json["id"]).action == "run"
    assert idle_client.post("/jobs", json=TRAIN_IRIS).status_code == 429  # running counts too
    assert store.finish(first.json["id"], contract.FAILED, error={"type": "boom", "message": "test"})
    third = idle_client.post("/jobs", json=TRAIN_IRIS)
    assert third.status_code == 202

    # Canceled: the next one is accepted.
    assert idle_client.delete(f"/jobs/{third.json['id']}").status_code == 200
    assert idle_client.post("/jobs", json=TRAIN_IRIS).status_code == 202


def test_a_retry_with_the_same_idempotency_key_gets_its_job_not_a_429(idle_client: FlaskClient) -> None:
    headers = {"Idempotency-Key": "train-iris-1"}
    first = idle_client.post("/jobs", json=TRAIN_IRIS, headers=headers)
    again = idle_client.post("/jobs", json=TRAIN_IRIS, headers=headers)
    assert first.status_code == again.status_code == 202 and again.json["id"] == first.json["id"]


def test_concurrent_train_submissions_queue_exactly_one(idle_settings: Settings) -> None:
    with serve_app(create_app(idle_settings)) as url, ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda _: requests.post(f"{url}/jobs", json=TRAIN_IRIS, timeout=30).status_code, range(8))
        )
    assert sorted(statuses) == [202] + [429] * 7
    assert _heavy_messages(idle_settings) == 1


def test_the_mark_expires_with_its_job_and_a_stale_one_is_taken_over(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    client = redis_lib.Redis.from_url(idle_settings.redis_url)
    first = idle_client.post("/jobs", json=TRAIN_IRIS).json
    mark = contract.training_key("iris")
    assert client.get(mark) == first["id"].encode()
    assert 0 < client.ttl(mark) <= idle_settings.job_ttl_s
    # A job that vanished without ending (its record expired or was lost) blocks nothing.
    client.delete(contract.job_key(first["id"]))
    assert idle_client.post("/jobs", json=TRAIN_IRIS).status_code == 202


@pytest.fixture
def two_admin_tenants(idle_settings: Settings) -> FlaskClient:
    keys = "admin:north:north-admin-key-0001,admin:south:south-admin-key-0001"
    return create_app(idle_settings.replace(api_keys=keys)).test_client()


def test_another_tenants_training_is_not_named(two_admin_tenants: FlaskClient) -> None:
    north, south = ({"Authorization": f"Bearer {side}-admin-key-0001"} for side in ("north", "south"))
    first = two_admin_tenants.post("/jobs", json=TRAIN_IRIS, headers=north).json
    refused = two_admin_tenants.post("/jobs", json=TRAIN_IRIS, headers=south)
    assert refused.status_code == 429 and first["id"] not in refused.json["error"]["message"]
    assert first["id"] in two_admin_tenants.post("/jobs", json=TRAIN_IRIS, headers=north).json["error"]["message"]
