"""Fault 2: a whole worker (main process and pool) killed with SIGKILL while it holds jobs.

Nobody is left to requeue the jobs it had taken: their messages sit in kombu's
unacked set until the visibility timeout passes and another worker's restore
sweep puts them back. The reaper is off here, to prove the broker's mechanism
on its own (tests/faults/test_reaper.py proves the reaper's).
"""

from __future__ import annotations

import pytest
import redis

from jobqueue import contract
from tests.faults.conftest import local_explanations
from tests.support.processes import eventually
from worker.broker_scan import BrokerMessages

pytestmark = pytest.mark.faults

# Time limits well above the sub-second jobs even on a loaded machine (the soft
# limit fires 5 s before the hard one); the visibility timeout above them, as
# Settings requires, with room for a pool process that is slow to start.
TIMINGS = {"fast_time_limit_s": 10, "heavy_time_limit_s": 10, "visibility_timeout_s": 12, "reaper_interval_s": 0}


def test_jobs_held_by_a_killed_worker_are_finished_by_another_after_the_visibility_timeout(
    fault_settings, web, ledger, start_worker
) -> None:
    settings = fault_settings.replace(**TIMINGS)
    broker = BrokerMessages(redis.Redis.from_url(settings.redis_url))
    doomed = start_worker(settings, queues=contract.Q_HEAVY, concurrency=2)
    jobs = [ledger.submit(web, local_explanations(web, 300)).json["id"] for _ in range(6)]
    # Prefetch is one per pool process: the worker holds two messages, unacknowledged.
    held = eventually(lambda: len(d := broker.delivered()) == 2 and set(d), 30, 0.01, message="two jobs held")
    doomed.kill()
    assert set(broker.delivered()) == held, "the killed worker acknowledged nothing more"
    survivor = start_worker(settings, queues=contract.Q_HEAVY, concurrency=2)

    bound = settings.visibility_timeout_s + settings.unacked_restore_interval_s + 30
    outcome = ledger.settle(web, timeout_s=bound)
    assert outcome.lost == {}
    assert {job_id: outcome.records[job_id]["status"] for job_id in jobs} == dict.fromkeys(jobs, "succeeded"), [
        outcome.records[job_id]["error"] for job_id in jobs
    ]
    # A held job had started at most once before the kill.
    assert all(outcome.records[job_id]["attempts"] <= 2 for job_id in held)
    assert broker.delivered() == {} and survivor.proc.poll() is None
