"""The scaling signal: the suggestion's arithmetic, GET /scaling on a backlog, and the scale command."""
from __future__ import annotations

import json
import subprocess
import sys

from flask.testing import FlaskClient

from tests.conftest import SIGNUP
from tests.processes import settings_env
from worker.runner import run_job
from worker.runtime import Runtime
from jobqueue.scaling import suggest
from jobqueue.settings import PROJECT_ROOT, Settings

BOUNDS = Settings(scale_min_workers=1, scale_max_workers=20)


def test_suggestion_keeps_up_with_arrivals_and_clears_the_backlog_within_the_target_wait() -> None:
    def suggested(depth: int, arrivals_per_s: float, mean_job_s: float | None, target_wait_s: float,
                  concurrency: int, workers: int = 1) -> int:
        return suggest(depth, arrivals_per_s, mean_job_s, target_wait_s, concurrency, workers, BOUNDS)

    # 1 job/s of 0.5 s keeps 0.5 slots busy; 30 waiting jobs of 0.5 s cleared in 5 s need 3 more: 2 workers of 2.
    assert suggested(depth=30, arrivals_per_s=1.0, mean_job_s=0.5, target_wait_s=5, concurrency=2) == 2
    # Exactly 4 busy slots fit in 2 workers of 2.
    assert suggested(depth=0, arrivals_per_s=8.0, mean_job_s=0.5, target_wait_s=5, concurrency=2) == 2
    # A longer target wait needs fewer workers for the same backlog.
    assert suggested(depth=300, arrivals_per_s=0, mean_job_s=1.0, target_wait_s=60, concurrency=1) == 5
    # Idle: the floor; swamped: the ceiling.
    assert suggested(depth=0, arrivals_per_s=0, mean_job_s=0.5, target_wait_s=5, concurrency=2) == 1
    assert suggested(depth=10**6, arrivals_per_s=0, mean_job_s=1, target_wait_s=5, concurrency=2) == 20
    # No timings yet: one step above the workers online while jobs wait, never a guess at the ceiling.
    assert suggested(depth=300, arrivals_per_s=1.0, mean_job_s=None, target_wait_s=5, concurrency=2, workers=0) == 1
    assert suggested(depth=300, arrivals_per_s=1.0, mean_job_s=None, target_wait_s=5, concurrency=2, workers=3) == 4


def test_scaling_endpoint_and_scale_command_report_the_same_backlog(idle_client: FlaskClient,
                                                                    idle_settings: Settings) -> None:
    ids = [idle_client.post("/jobs", json=SIGNUP).json["id"] for _ in range(6)]
    fresh = idle_client.get("/scaling").json["queues"]["fast"]
    # Nothing has run yet: no job time to size by, so one worker more than the none online.
    assert fresh["mean_job_s"] is None and fresh["suggested_workers"] == 1
    runtime = Runtime.create(idle_settings)
    for job_id in ids[:2]:  # run in-process: finished, but their messages are still queued
        run_job(runtime, job_id)

    fast = idle_client.get("/scaling").json["queues"]["fast"]
    assert fast["depth"] == 6 and fast["workers"] == 0
    assert fast["arrivals_per_min"] > fast["throughput_per_min"] > 0
    assert 0 < fast["mean_job_s"] < 30 and fast["oldest_age_s"] >= 0
    assert fast["suggested_workers"] >= 1
    assert fast["target_wait_s"] == idle_settings.fast_target_wait_s

    env = settings_env(idle_settings)
    printed = subprocess.run([sys.executable, "-m", "tools.scale", "--json"], cwd=PROJECT_ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0, printed.stderr
    command = json.loads(printed.stdout)["queues"]["fast"]
    for field in ("depth", "workers", "suggested_workers", "mean_job_s", "target_wait_s"):
        assert command[field] == fast[field], field
    only = subprocess.run([sys.executable, "-m", "tools.scale", "--queue", "fast"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert only.stdout.strip() == str(fast["suggested_workers"])
