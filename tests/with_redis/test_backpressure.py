"""Backpressure: a full queue or a tenant over its rate gets 429 with Retry-After, and nothing is queued."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import redis as redis_lib

from jobqueue import contract
from jobqueue.celery_client import create_celery_client
from jobqueue.queues import broker_lists
from jobqueue.settings import Settings
from tests.support.data import ACME, GLOBEX, SIGNUP, bearer
from tests.support.redis_monitor import commands_sent
from web.app import create_app

EXPLAIN_ONE = {"model": "credit", "task": "explain", "input": {"customer_id": 100002}}


def _waiting(settings: Settings, queue: str) -> int:
    broker = redis_lib.Redis.from_url(settings.redis_url)
    return sum(broker.llen(name) for name in broker_lists(queue))


def test_full_queue_is_429_with_retry_after_and_records_nothing(idle_settings: Settings) -> None:
    client = create_app(idle_settings.replace(max_queue_depth_fast=2, retry_after_s=7)).test_client()
    assert [client.post("/jobs", json=SIGNUP).status_code for _ in range(2)] == [202, 202]
    refused = client.post("/jobs", json=SIGNUP, headers={"Idempotency-Key": "while-full"})
    assert refused.status_code == 429 and refused.json["error"]["type"] == "queue_full"
    assert refused.headers["Retry-After"] == "7"
    assert len(client.get("/jobs").json["jobs"]) == 2 and _waiting(idle_settings, contract.Q_FAST) == 2
    # Only that queue is full: explanations go to the heavy queue.
    assert client.post("/jobs", json=EXPLAIN_ONE).status_code == 202


def test_messages_waiting_at_any_priority_count_toward_the_depth(idle_settings: Settings) -> None:
    # kombu keeps prioritised messages in lists of their own beside the queue's.
    create_celery_client(idle_settings).send_task(
        contract.PREDICT, kwargs={"job_id": "0" * 32}, queue=contract.Q_FAST, priority=9
    )
    broker = redis_lib.Redis.from_url(idle_settings.redis_url)
    assert broker.llen(contract.Q_FAST) == 0 and _waiting(idle_settings, contract.Q_FAST) == 1
    client = create_app(idle_settings.replace(max_queue_depth_fast=1)).test_client()
    assert client.post("/jobs", json=SIGNUP).status_code == 429


def test_a_tenant_over_its_rate_is_429_across_web_processes(keyed_settings: Settings) -> None:
    # An hour-long window, so the test never straddles two windows.
    limited = keyed_settings.replace(rate_limit_per_key=2, rate_limit_window_s=3600)
    first, second = create_app(limited).test_client(), create_app(limited).test_client()
    assert first.post("/jobs", json=SIGNUP, headers=bearer(ACME)).status_code == 202
    assert second.post("/jobs", json=SIGNUP, headers=bearer(ACME)).status_code == 202
    refused = first.post("/jobs", json=SIGNUP, headers=bearer(ACME))
    assert refused.status_code == 429 and refused.json["error"]["type"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert len(first.get("/jobs", headers=bearer(ACME)).json["jobs"]) == 2
    assert _waiting(keyed_settings, contract.Q_FAST) == 2
    # Another tenant has its own allowance; reading is not rate limited.
    assert second.post("/jobs", json=SIGNUP, headers=bearer(GLOBEX)).status_code == 202
    assert first.get("/jobs", headers=bearer(ACME)).status_code == 200


def test_a_limit_of_zero_means_no_limit(keyed_settings: Settings) -> None:
    client = create_app(keyed_settings.replace(rate_limit_per_key=0, max_queue_depth_fast=0)).test_client()
    assert {client.post("/jobs", json=SIGNUP, headers=bearer(ACME)).status_code for _ in range(5)} == {202}


def test_a_retry_of_an_accepted_job_gets_that_job_even_when_the_queue_is_full(idle_settings: Settings) -> None:
    # The signup hook retries on timeouts: a retry must find its job, not a 429.
    client = create_app(idle_settings.replace(max_queue_depth_fast=1)).test_client()
    first = client.post("/jobs", json=SIGNUP, headers={"Idempotency-Key": "signup-42"})
    assert first.status_code == 202
    retry = client.post("/jobs", json=SIGNUP, headers={"Idempotency-Key": "signup-42"})
    assert retry.status_code == 202 and retry.json["id"] == first.json["id"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert client.post("/jobs", json=SIGNUP).status_code == 429


def test_concurrent_submissions_never_overshoot_the_queue_limit(idle_settings: Settings) -> None:
    # The depth check and the enqueue are one atomic script: no two requests see the same room.
    app = create_app(idle_settings.replace(max_queue_depth_fast=5))
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: app.test_client().post("/jobs", json=SIGNUP).status_code, range(24)))
    assert sorted(codes) == [202] * 5 + [429] * 19
    assert _waiting(idle_settings, contract.Q_FAST) == 5


def test_a_submission_is_one_redis_round_trip(keyed_settings: Settings) -> None:
    # Admission, record, index, idempotency key, metrics and the queued message: one script call.
    client = create_app(keyed_settings.replace(rate_limit_per_key=100, max_queue_depth_fast=100)).test_client()
    assert client.post("/jobs", json=SIGNUP, headers=bearer(ACME)).status_code == 202  # loads the script
    with commands_sent(keyed_settings.redis_url) as sent:
        response = client.post("/jobs", json=SIGNUP, headers={**bearer(ACME), "Idempotency-Key": "one-trip"})
    assert response.status_code == 202
    assert sent == ["EVALSHA"]
