"""The Python client against the service over real HTTP: submit, wait, Retry-After, and signatures."""

from __future__ import annotations

import time

import pytest
import redis as redis_lib
import requests

from jobqueue import contract
from jobqueue.settings import Settings
from scoring_client import ApiError, JobTimeout, ScoringClient
from tests.support.data import SIGNUP
from tests.support.servers import serve_app
from web.app import create_app


def test_wait_gives_up_after_its_total_time(idle_settings: Settings) -> None:
    with serve_app(create_app(idle_settings)) as url:
        client = ScoringClient(url)
        job_id = client.submit(SIGNUP)["id"]
        started = time.monotonic()
        with pytest.raises(JobTimeout) as timed_out:
            client.wait(job_id, timeout_s=0.5)
        # Bounded by its own budget, not the service's 30 s long poll.
        assert time.monotonic() - started < 10
        assert timed_out.value.job["status"] == "queued"
        assert client.cancel(job_id)["status"] == "canceled"


def test_a_429_is_retried_after_retry_after_with_the_same_idempotency_key(idle_settings: Settings) -> None:
    settings = idle_settings.replace(max_queue_depth_fast=1, retry_after_s=1)
    broker = redis_lib.Redis.from_url(settings.redis_url)
    seen: list[requests.Response] = []

    def drain_on_429(response: requests.Response, *args: object, **kwargs: object) -> None:
        seen.append(response)
        if response.status_code == 429:
            broker.lpop(contract.Q_FAST)  # a worker takes the waiting job meanwhile

    with serve_app(create_app(settings)) as url:
        client = ScoringClient(url, max_retry_s=10)
        client.submit(SIGNUP)
        client.session.hooks["response"].append(drain_on_429)
        job = client.submit(SIGNUP)
    assert [r.status_code for r in seen] == [429, 202] and job["status"] == "queued"
    keys = {r.request.headers["Idempotency-Key"] for r in seen}
    assert len(keys) == 1


def test_a_retry_after_beyond_the_budget_is_raised(idle_settings: Settings) -> None:
    with serve_app(create_app(idle_settings.replace(max_queue_depth_fast=1, retry_after_s=30))) as url:
        client = ScoringClient(url, max_retry_s=5)
        client.submit(SIGNUP)
        with pytest.raises(ApiError) as refused:
            client.submit(SIGNUP)
    assert refused.value.status == 429 and refused.value.type == "queue_full" and refused.value.retry_after == 30
