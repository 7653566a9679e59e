"""Fault 7: jobs a vanished worker held chunks of, which only the reaper can finish in time.

A worker is killed outright while it runs chunks of global explanations and
holds more it had not started (it prefetches two per pool process), with a
visibility timeout far beyond the test's bound, so the broker brings nothing
back by itself; one held chunk's message is even deleted, as a Redis failover
or an fsync window would lose it. The jobs stop making progress. The reaper
measures a job split into chunks from its last progress: a time limit plus
grace later it sends the job again, and its plan resumes, sending every chunk
that was handed on and never recorded.
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
# The reaper waits out the heavy time limit: short, yet roomy for the chunks on a busy machine.
TIMINGS = {"heavy_time_limit_s": 12, "visibility_timeout_s": 300, "reaper_interval_s": 1, "reaper_grace_s": 2}


def test_the_reaper_resumes_jobs_whose_chunks_a_vanished_worker_held(fault_settings, web, ledger, start_worker) -> None:
    settings = fault_settings.replace(**TIMINGS)
    broker = redis.Redis.from_url(settings.redis_url)
    doomed = start_worker(settings, queues=contract.Q_HEAVY, concurrency=2, prefetch=2)
    jobs = [ledger.submit(web, explain_global(SAMPLE, seed)).json["id"] for seed in range(5, 8)]

    def holding_four() -> dict[str, object] | None:
        held = BrokerMessages(broker).delivered()
        started = all(web.get(f"/jobs/{j}").json["status"] == "running" for j in jobs)
        return held if len(held) == 4 and started else None

    # Roomy: the pool processes load their models first, slowly on busy shared cores.
    held = eventually(holding_four, 60, 0.05, message="the worker holding four chunks")
    doomed.kill()
    held = BrokerMessages(broker).delivered()
    # Chunk messages are named job:chunk:tag; a job's own message (still being planned) by the job alone.
    stalled = {message_id.split(":")[0] for message_id in held if ":" in message_id}
    assert stalled and stalled <= set(jobs)
    lost = sorted(message_id for message_id in held if ":" in message_id)[0]
    broker.hdel("unacked", held[lost].tag)  # as a Redis failover would lose it
    broker.zrem("unacked_index", held[lost].tag)

    start_worker(settings, queues=contract.Q_HEAVY, concurrency=2)
    bound = settings.heavy_time_limit_s + settings.reaper_grace_s + settings.reaper_interval_s + 40
    outcome = ledger.settle(web, timeout_s=bound)
    assert outcome.lost == {}
    assert {j: outcome.records[j]["status"] for j in jobs} == dict.fromkeys(jobs, "succeeded")
    # A job a held chunk stalled was sent again by the reaper (a job whose own message was held is
    # started by it once or twice, depending on whether its planning had begun); each chunk recorded once.
    attempts = {j: outcome.records[j]["attempts"] for j in jobs}
    assert all(attempts[j] == 2 for j in stalled), (sorted(held), lost, attempts)
    chunks = SAMPLE // settings.explain_chunk_rows
    assert {j: ledger.chunk_records[j] for j in jobs} == dict.fromkeys(jobs, chunks)
    assert broker.zcard(contract.RUNNING_INDEX) == 0
