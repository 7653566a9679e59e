"""Fault 4: Redis restarted (append-only file on, as in production) while jobs wait in the queue.

The queue, the job records and the in-flight messages are all in Redis; the
append-only file brings them back. The worker and the web reconnect on their
own: the same processes finish every job and take new ones.
"""

from __future__ import annotations

import pytest
import redis

from jobqueue import contract
from jobqueue.celery_client import create_celery_client
from tests.support.data import SIGNUP, explain_global
from tests.support.processes import eventually

pytestmark = pytest.mark.faults

QUEUED = 20
# If the running explanation's message is stranded by the restart, the
# visibility timeout brings it back within the test's bound.
TIMINGS = {"heavy_time_limit_s": 10, "visibility_timeout_s": 12}


def test_jobs_queued_across_a_redis_restart_all_finish_without_restarting_anything(
    fault_settings, redis_aof, web, ledger, start_worker
) -> None:
    settings = fault_settings.replace(**TIMINGS)
    # Consuming the heavy queue only, busy with an explanation: the signups wait in theirs.
    worker = start_worker(settings, queues=contract.Q_HEAVY, concurrency=1)
    heavy = ledger.submit(web, explain_global(1000, seed=4)).json["id"]
    eventually(lambda: web.get(f"/jobs/{heavy}").json["progress"]["done"] > 0, 30, message="explanation running")
    accepted = [ledger.submit(web, SIGNUP).status_code for _ in range(QUEUED)]
    assert accepted == [202] * QUEUED
    broker = redis.Redis.from_url(settings.redis_url)
    assert broker.llen(contract.Q_FAST) == QUEUED

    redis_aof.restart()

    # The same web app takes new jobs once Redis is back: no restart, no stale connection.
    after = eventually(lambda: ledger.submit(web, SIGNUP).status_code == 202, 10, 0.2, message="web accepts again")
    assert after
    # The same worker, reconnected, now takes the fast queue too: what waited there survived the restart.
    control = create_celery_client(settings).control
    eventually(
        lambda: control.add_consumer(contract.Q_FAST, destination=[worker.hostname], reply=True, timeout=2),
        20,
        0.5,
        message="the worker answering",
    )
    outcome = ledger.settle(web, timeout_s=settings.visibility_timeout_s + 30, unobserved_ok=True)
    assert outcome.lost == {}
    assert all(record["status"] == "succeeded" for record in outcome.records.values())
    assert len(outcome.records) == QUEUED + 2
    assert worker.proc.poll() is None, "the worker had to be restarted"
