"""Fault 7: jobs a vanished worker held, which only the reaper can finish in time.

A worker is killed outright while it runs two explanations and holds two more
it had not started (it prefetches two per pool process), with a visibility
timeout far beyond the test's bound so the broker brings nothing back by itself:

- a running job whose message is still held as delivered to the dead worker,
  and the two it never started: the reaper takes their messages back once a
  time limit plus grace has passed since the start, or the delivery;
- a running job whose message was deleted too, as a Redis failover or an
  fsync window would lose it: the reaper queues it with a new message.

(A job recorded without its message cannot happen: the web writes both in one
Redis script, see jobqueue.store.)
"""

from __future__ import annotations

import pytest
import redis

from jobqueue import contract
from tests.support.data import explain_global
from tests.support.processes import eventually
from worker.broker_scan import BrokerMessages

pytestmark = pytest.mark.faults

SAMPLE = 1000
# The reaper waits out the heavy time limit: short, yet roomy for two explanations on a busy machine.
TIMINGS = {"heavy_time_limit_s": 20, "visibility_timeout_s": 300, "reaper_interval_s": 1, "reaper_grace_s": 2}


def test_reaper_requeues_jobs_held_by_a_vanished_worker_with_or_without_their_message(
    fault_settings, web, ledger, start_worker
) -> None:
    settings = fault_settings.replace(**TIMINGS)
    broker = redis.Redis.from_url(settings.redis_url)
    doomed = start_worker(settings, queues=contract.Q_HEAVY, concurrency=2, prefetch=2)
    jobs = [ledger.submit(web, explain_global(SAMPLE, seed)).json["id"] for seed in range(5, 9)]

    def two_running_two_held() -> list[str] | None:
        running = [j for j in jobs if web.get(f"/jobs/{j}").json["progress"]["done"] >= 2 * settings.explain_chunk_rows]
        return running if len(running) == 2 and len(BrokerMessages(broker).delivered()) == 4 else None

    # Roomy: the pool processes load their models first, slowly on busy shared cores.
    try:
        held, lost = eventually(two_running_two_held, 60, message="two explanations two chunks in, two more held")
    except AssertionError as exc:
        states = {j: (web.get(f"/jobs/{j}").json["status"], web.get(f"/jobs/{j}").json["progress"]) for j in jobs}
        raise AssertionError(f"{exc}; jobs: {states}; delivered: {len(BrokerMessages(broker).delivered())}") from None
    doomed.kill()
    delivered = BrokerMessages(broker).delivered()
    assert set(delivered) == set(jobs)
    broker.hdel("unacked", delivered[lost].tag)  # as a Redis failover would lose it
    broker.zrem("unacked_index", delivered[lost].tag)
    never_started = [j for j in jobs if j not in (held, lost)]
    assert all(web.get(f"/jobs/{j}").json["status"] == "queued" for j in never_started)

    start_worker(settings, queues=contract.Q_HEAVY, concurrency=2)
    bound = settings.heavy_time_limit_s + settings.reaper_grace_s + settings.reaper_interval_s + 40
    outcome = ledger.settle(web, timeout_s=bound)
    assert outcome.lost == {}
    assert {j: outcome.records[j]["status"] for j in jobs} == dict.fromkeys(jobs, "succeeded")
    assert [outcome.records[j]["attempts"] for j in (held, lost, *never_started)] == [2, 2, 1, 1]
    # The interrupted explanations resumed from their checkpoints.
    chunks = SAMPLE // settings.explain_chunk_rows
    assert ledger.checkpoint_writes[held] == ledger.checkpoint_writes[lost] == chunks
    assert BrokerMessages(broker).delivered() == {} and broker.zcard(contract.RUNNING_INDEX) == 0
