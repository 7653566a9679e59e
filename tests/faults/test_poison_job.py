"""Fault 6: a poison job, one that kills the process running it every time.

A legitimate but huge batch (9,000 local explanations) under a 1 s heavy time
limit with no soft limit before it: billiard kills the pool process each time,
as it would one stuck in native code past its soft limit. The message is
requeued, each delivery counts an attempt, and the delivery after the
MAX_ATTEMPTS-th fails the job with a reason instead of running it again.
"""

from __future__ import annotations

import pytest
import redis

from jobqueue import contract
from tests.faults.conftest import local_explanations
from tests.support.data import SIGNUP
from worker.broker_scan import BrokerMessages

pytestmark = pytest.mark.faults

# The reaper is off: the requeue after each kill must bound the retries on its own.
TIMINGS = {
    "heavy_time_limit_s": 1,
    "soft_time_limit_margin_s": 0,
    "visibility_timeout_s": 30,
    "max_attempts": 3,
    "reaper_interval_s": 0,
}


def test_job_that_kills_its_worker_every_time_fails_after_max_attempts_and_the_worker_serves_on(
    fault_settings, web, ledger, start_worker
) -> None:
    settings = fault_settings.replace(**TIMINGS)
    worker = start_worker(settings, concurrency=1)
    poison = ledger.submit(web, local_explanations(web, 9000)).json["id"]
    signups = [ledger.submit(web, SIGNUP).json["id"] for _ in range(3)]

    outcome = ledger.settle(web, timeout_s=90)
    assert outcome.lost == {}
    job = outcome.records[poison]
    assert job["status"] == "failed" and job["error"]["type"] == "worker_lost", job["error"]
    assert f"stopped {settings.max_attempts} times" in job["error"]["message"]
    assert job["attempts"] == settings.max_attempts + 1
    assert all(outcome.records[job_id]["status"] == "succeeded" for job_id in signups)
    # No crash loop: the message is gone for good, and the worker still serves.
    broker = redis.Redis.from_url(settings.redis_url)
    assert broker.llen(contract.Q_HEAVY) == 0 and BrokerMessages(broker).delivered() == {}
    assert ledger.submit(web, SIGNUP, query_string={"wait": 20}).json["status"] == "succeeded"
    assert worker.proc.poll() is None
