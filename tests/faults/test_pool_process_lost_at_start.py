"""Fault 9: a pool process is killed while the worker starts and the process warms its models.

Celery used to stop the whole worker ("Could not start worker processes"),
and ``make run`` every other process with it. The worker must replace the
lost process, as it does at any other time, and go on.
"""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from jobqueue import contract
from tests.support.data import SIGNUP
from tests.support.processes import eventually

pytestmark = pytest.mark.faults


def test_a_pool_process_killed_while_the_worker_starts_is_replaced_and_the_worker_goes_on(
    fault_settings, web, ledger, start_worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hold the worker's start and each process's warm-up for a while, so the kill lands in both.
    monkeypatch.setenv("SLOW_START_READY_DELAY_S", "3")
    monkeypatch.setenv("SLOW_START_WARM_UP_S", "3")
    worker = start_worker(
        fault_settings, queues=contract.Q_FAST, concurrency=2, wait=False, extra_args=("-I", "tests.support.slow_start")
    )

    def warming() -> list[int]:
        assert worker.proc.poll() is None, f"the worker exited with {worker.proc.returncode}"
        alive = [pid for pid in worker.pool_pids() if psutil.pid_exists(pid)]
        return alive if len(alive) == 2 else []

    first = eventually(warming, 30, 0.02, "two pool processes")
    assert isinstance(first, list)
    os.kill(first[0], signal.SIGKILL)

    def replaced() -> bool:
        log = worker.log_path.read_text() if worker.log_path else ""
        assert "Could not start worker processes" not in log, "the worker gave up on its lost pool process"
        assert worker.proc.poll() is None, f"the worker exited with {worker.proc.returncode}"
        return len(worker.pool_pids()) == 2 and first[0] not in worker.pool_pids()

    eventually(replaced, 30, 0.1, "a replacement pool process")
    worker.wait_ready(60)
    accepted = [ledger.submit(web, SIGNUP) for _ in range(10)]
    assert all(response.status_code == 202 for response in accepted)
    outcome = ledger.settle(web, timeout_s=60)
    assert outcome.lost == {} and all(r["status"] == "succeeded" for r in outcome.records.values())
    assert replaced()
