"""The scaling signal on a backlog: GET /scaling and the scale command report the same figures."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys

from jobqueue.settings import PROJECT_ROOT, Settings
from tests.support.data import SIGNUP
from tests.support.processes import settings_env
from web.app import create_app
from worker.runner import run_job
from worker.runtime import Runtime


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_scaling_endpoint_and_scale_command_report_the_same_backlog(idle_settings: Settings) -> None:
    # No floor, a ceiling out of reach and a target wait short enough that the backlog alone needs
    # several workers: the suggestion is the formula's own figure, never a bound.
    settings = idle_settings.replace(scale_min_workers=0, scale_max_workers=10_000, fast_target_wait_s=0.001)
    client = create_app(settings).test_client()
    ids = [client.post("/jobs", json=SIGNUP).json["id"] for _ in range(6)]
    fresh = client.get("/scaling").json["queues"]["fast"]
    # Nothing has run yet: no job time to size by, so one worker more than the none online.
    assert fresh["mean_job_s"] is None and fresh["suggested_workers"] == 1
    runtime = Runtime.create(settings)
    for job_id in ids[:2]:  # run in-process: finished, but their messages are still queued
        run_job(runtime, job_id)

    oldest_created = _moment(client.get(f"/jobs/{ids[2]}").json["created_at"])
    before = dt.datetime.now(dt.UTC)
    fast = client.get("/scaling").json["queues"]["fast"]
    after = dt.datetime.now(dt.UTC)
    assert fast["depth"] == 6 and fast["workers"] == 0
    assert fast["arrivals_per_min"] > fast["throughput_per_min"] > 0
    assert 0 < fast["mean_job_s"] < 30
    # The oldest job still waiting is the third: the first two ran.
    assert (before - oldest_created).total_seconds() - 0.002 <= fast["oldest_age_s"]
    assert fast["oldest_age_s"] <= (after - oldest_created).total_seconds() + 0.002
    slots = fast["arrivals_per_min"] / 60 * fast["mean_job_s"] + 6 * fast["mean_job_s"] / 0.001
    expected = math.ceil(slots / settings.fast_concurrency)
    assert expected >= 2 and abs(fast["suggested_workers"] - expected) <= 1  # the figures are rounded
    assert fast["target_wait_s"] == 0.001

    env = settings_env(settings)
    printed = subprocess.run(
        [sys.executable, "-m", "tools.scale", "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert printed.returncode == 0, printed.stderr
    command = json.loads(printed.stdout)["queues"]["fast"]
    for field in ("depth", "workers", "suggested_workers", "mean_job_s", "target_wait_s"):
        assert command[field] == fast[field], field
    only = subprocess.run(
        [sys.executable, "-m", "tools.scale", "--queue", "fast"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert only.stdout.strip() == str(fast["suggested_workers"])
