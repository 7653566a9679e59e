"""Fault 3: a worker stopped as platforms do, SIGTERM then SIGKILL after a grace period, mid-way
through a long explanation.

The grace here is 25 s, inside a dyno's 30: a full suite on 2 shared cores has
overrun 5 s and 10 s for the warm shutdown. What matters is that the worker
does not need the SIGKILL that follows it. The chunk it runs is finished (a
pool process signalled directly defers SIGTERM until then) and handed on; its
other messages go back to the queue as the worker closes; the worker exits by
itself, and the other worker runs the rest, long before the visibility
timeout would have brought anything back.
"""

from __future__ import annotations

import signal
import subprocess

import pytest
import redis

from jobqueue import contract
from tests.support.data import CREDIT_CUSTOMERS, explain_global
from tests.support.processes import WorkerProcess, eventually

pytestmark = pytest.mark.faults

GRACE_S = 25
# All the test model's customers, 60 chunks, ~6 s: a test process stalled for seconds on
# shared cores must still find the job unfinished when it stops the worker.
SAMPLE = CREDIT_CUSTOMERS
# A visibility timeout far beyond the test's bound: only the hand-back can save the job.
TIMINGS = {"heavy_time_limit_s": 60, "visibility_timeout_s": 300}


def _stop_like_a_platform(worker: WorkerProcess, signal_every_process: bool) -> int:
    if signal_every_process:
        worker.signal_all(signal.SIGTERM)  # a dyno: every process of it
    else:
        worker.proc.terminate()  # tini in compose, Kubernetes: the main process only
    try:
        return worker.proc.wait(GRACE_S)
    except subprocess.TimeoutExpired:
        worker.kill()
        return worker.proc.returncode


@pytest.mark.parametrize("signal_every_process", [True, False], ids=["dyno", "main-process-only"])
def test_a_stopped_worker_finishes_its_chunk_and_the_other_runs_the_rest(
    fault_settings, web, ledger, start_worker, signal_every_process: bool
) -> None:
    settings = fault_settings.replace(**TIMINGS)
    workers = {w.hostname: w for w in (start_worker(settings, queues=contract.Q_HEAVY) for _ in range(2))}
    job_id = ledger.submit(web, explain_global(SAMPLE, seed=3)).json["id"]
    eventually(
        lambda: web.get(f"/jobs/{job_id}").json["progress"]["done"] >= 3 * settings.explain_chunk_rows,
        30,
        message="three chunks done",
    )
    store = redis.Redis.from_url(settings.redis_url)
    stopped = workers.pop(store.hget(contract.job_key(job_id), "worker").decode())

    exit_code = _stop_like_a_platform(stopped, signal_every_process)
    log_tail = stopped.log_path.read_text(errors="replace")[-3000:] if stopped.log_path else ""
    assert exit_code == 0, f"the worker needed its SIGKILL; its log ends:\n{log_tail}"

    outcome = ledger.settle(web, timeout_s=60)
    assert outcome.lost == {}
    job = outcome.records[job_id]
    assert job["status"] == "succeeded" and job["attempts"] == 1
    # Each chunk was recorded once.
    assert ledger.chunk_records[job_id] == SAMPLE // settings.explain_chunk_rows
