"""Fault 5: Redis down, frozen or unreachable while clients submit, then back.

Each submission gets a 503 within 2 s, never a 202; once Redis is back the
same web app and worker carry on by themselves. Stopped (connections refused),
a submission leaves nothing behind. Frozen (SIGSTOP: connections accepted,
nothing answered), a submission may still be recorded when Redis resumes, and
a retry with its Idempotency-Key gets exactly that job. A healthy Redis busy
with a long script is waited for, not taken for lost.
tests/test_broker_down.py covers the web alone, including an enqueue that
fails after the record was written; this adds a live worker and the ledger.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import redis
from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.settings import Settings
from tests.faults.ledger import Ledger
from tests.support.data import SIGNUP
from tests.support.processes import eventually
from tools.dropping_port import dropping_port
from tools.redis_server import RedisServer
from web.app import create_app

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


def _timed_submit(ledger: Ledger, web: FlaskClient, key: str) -> float:
    """Submit a signup with ``key``; check it is a 503 that says to retry with the key, and return how long it took."""
    started = time.monotonic()
    response = ledger.submit(web, SIGNUP, headers={"Idempotency-Key": key})
    elapsed = time.monotonic() - started
    assert response.status_code == 503 and response.json["error"]["type"] == "broker_unavailable"
    assert int(response.headers["Retry-After"]) > 0 and "Idempotency-Key" in response.json["error"]["message"]
    return elapsed


def test_a_frozen_redis_gets_a_503_within_2_s_and_a_retry_with_its_key_gets_one_job(
    fault_settings, redis_aof, web, ledger, start_worker
) -> None:
    # The default socket timeout (fault_settings shrink only the job timings) is what is tested.
    assert fault_settings.redis_socket_timeout_s == Settings().redis_socket_timeout_s
    worker = start_worker(fault_settings, queues=contract.Q_FAST, concurrency=1)
    assert ledger.submit(web, SIGNUP).status_code == 202  # the web now holds a pooled connection
    pid = redis.Redis.from_url(fault_settings.redis_url).info("server")["process_id"]
    os.kill(pid, signal.SIGSTOP)
    try:
        elapsed = [_timed_submit(ledger, web, f"frozen-{attempt}") for attempt in range(3)]
    finally:
        os.kill(pid, signal.SIGCONT)
    assert max(elapsed) < 2.0, f"503s after {elapsed} s"

    # Commands sent to the frozen server may run now; a retry with the key returns what they recorded.
    retries = [ledger.submit(web, SIGNUP, headers={"Idempotency-Key": f"frozen-{attempt}"}) for attempt in range(3)]
    assert [r.status_code for r in retries] == [202] * 3
    assert len(web.get("/jobs?limit=100").json["jobs"]) == 4, "a submission made two jobs"
    outcome = ledger.settle(web, timeout_s=30)
    assert outcome.lost == {} and outcome.accepted == 4
    assert worker.proc.poll() is None, "the worker had to be restarted"


def test_a_redis_whose_packets_are_dropped_gets_a_503_within_2_s(fault_settings, ledger) -> None:
    with dropping_port() as port:
        web = create_app(fault_settings.replace(redis_url=f"redis://127.0.0.1:{port}/0")).test_client()
        elapsed = [_timed_submit(ledger, web, f"dropped-{attempt}") for attempt in range(3)]
    assert max(elapsed) < 2.0, f"503s after {elapsed} s"
    assert ledger.accepted == []


def test_a_busy_redis_is_waited_for_not_taken_for_lost(fault_settings, redis_aof: RedisServer, web) -> None:
    # About twice the longest script the service runs (the finish of 10,000 local explanations,
    # 0.25-0.36 s in bench/redis_timeouts.py); Redis runs nothing else meanwhile.
    busy_s = 0.7
    client = redis.Redis.from_url(fault_settings.redis_url)
    running = threading.Event()

    def keep_redis_busy() -> None:
        running.set()
        client.eval(
            "local s = redis.call('TIME') local n repeat n = redis.call('TIME') "
            "until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) >= tonumber(ARGV[1]) return 1",
            0,
            int(busy_s * 1_000_000),
        )

    assert web.post("/jobs", json=SIGNUP).status_code == 202  # a pooled connection, as a running web has
    busy = threading.Thread(target=keep_redis_busy)
    busy.start()
    running.wait()
    time.sleep(0.1)
    started = time.monotonic()
    response = web.post("/jobs", json=SIGNUP)
    waited = time.monotonic() - started
    busy.join()
    assert response.status_code == 202, response.json
    assert waited > 0.3, "the submission did not wait behind the busy script; the test proved nothing"
