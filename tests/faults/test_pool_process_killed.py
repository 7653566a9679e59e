"""Fault 1: the pool process running a job is killed (SIGKILL, as the OOM killer does).

Celery sees the worker lost and, with acks_late and reject_on_worker_lost,
requeues the message at once: the chunk it was computing is computed again,
and recorded once.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.support.data import SIGNUP, explain_global
from tests.support.processes import eventually

pytestmark = pytest.mark.faults

SAMPLE = 2000


def test_a_chunk_whose_pool_process_is_killed_is_redone_and_recorded_once(
    fault_settings, web, ledger, start_worker
) -> None:
    # One pool process, so the one running the explanation is the one killed.
    worker = start_worker(fault_settings, concurrency=1)
    job_id = ledger.submit(web, explain_global(SAMPLE, seed=1)).json["id"]
    signups = [ledger.submit(web, SIGNUP) for _ in range(10)]
    assert all(response.status_code == 202 for response in signups)
    eventually(
        lambda: web.get(f"/jobs/{job_id}").json["progress"]["done"] >= 3 * fault_settings.explain_chunk_rows,
        30,
        message="three chunks done",
    )
    [pool_process] = worker.pool_pids()
    os.kill(pool_process, signal.SIGKILL)

    outcome = ledger.settle(web, timeout_s=60)
    assert outcome.lost == {}
    job = outcome.records[job_id]
    assert job["status"] == "succeeded" and job["attempts"] == 1  # the job itself was never sent again
    assert job["progress"] == {"done": SAMPLE, "total": SAMPLE}
    # Each chunk was recorded once, the one running when its process died included.
    assert ledger.chunk_records[job_id] == SAMPLE // fault_settings.explain_chunk_rows
    assert all(outcome.records[r.json["id"]]["status"] == "succeeded" for r in signups)
    assert worker.proc.poll() is None and worker.pool_pids() != [pool_process]
