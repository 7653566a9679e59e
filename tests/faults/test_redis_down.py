"""Fault 5: Redis down while clients submit, then back.

Each submission gets a 503 within 2 s, never a 202, and leaves nothing behind;
once Redis is back the same web app and worker carry on by themselves.
tests/test_broker_down.py covers the web alone, including an enqueue that
fails after the record was written; this adds a live worker and the ledger.
"""

from __future__ import annotations

import time

import pytest
import redis

from jobqueue import contract
from tests.support.data import SIGNUP
from tests.support.processes import eventually

pytestmark = pytest.mark.faults

ATTEMPTS = 10


def _recorded(url: str) -> tuple[set[bytes], list[bytes], int]:
    """Every job record and idempotency key, the job index, and the queued messages."""
    client = redis.Redis.from_url(url)
    keys = set(client.scan_iter(contract.job_key("*"))) | set(client.scan_iter(contract.idempotency_key("*")))
    return keys, client.zrange(contract.JOB_INDEX, 0, -1), client.llen(contract.Q_FAST)


def test_submissions_while_redis_is_down_get_a_quick_503_and_leave_nothing(
    fault_settings, redis_aof, web, ledger, start_worker
) -> None:
    worker = start_worker(fault_settings, queues=contract.Q_FAST, concurrency=1)
    first = [ledger.submit(web, SIGNUP).json["id"] for _ in range(5)]
    eventually(
        lambda: all(web.get(f"/jobs/{job_id}").json["status"] == "succeeded" for job_id in first),
        20,
        message="first jobs done",
    )
    before = _recorded(fault_settings.redis_url)

    redis_aof.stop()
    for attempt in range(ATTEMPTS):
        started = time.monotonic()
        response = ledger.submit(web, SIGNUP, headers={"Idempotency-Key": f"outage-{attempt}"})
        elapsed = time.monotonic() - started
        assert response.status_code == 503 and response.json["error"]["type"] == "broker_unavailable"
        assert int(response.headers["Retry-After"]) > 0
        assert elapsed < 2.0, f"503 after {elapsed:.2f}s"
    redis_aof.start()

    assert _recorded(fault_settings.redis_url) == before, "a rejected submission left something in Redis"
    for attempt in range(ATTEMPTS):
        again = ledger.submit(web, SIGNUP, headers={"Idempotency-Key": f"outage-{attempt}"})
        assert again.status_code == 202 and "Idempotent-Replayed" not in again.headers
    outcome = ledger.settle(web, timeout_s=30)
    assert outcome.lost == {} and outcome.accepted == 5 + ATTEMPTS
    assert all(record["status"] == "succeeded" for record in outcome.records.values())
    assert worker.proc.poll() is None, "the worker had to be restarted"
