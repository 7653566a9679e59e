"""GET /metrics: jobs counted once by final status, durations, queue waits, queue depth and age, workers."""

from __future__ import annotations

import subprocess
import time

from flask.testing import FlaskClient

from jobqueue import contract
from jobqueue.settings import Settings
from tests.support.data import SIGNUP
from tests.support.missing import program
from tests.support.scrape import at, samples
from worker.runner import run_job
from worker.runtime import Runtime


def test_each_job_is_counted_once_by_model_task_and_final_status(
    idle_client: FlaskClient, idle_settings: Settings
) -> None:
    runtime = Runtime.create(idle_settings)
    succeeded = [idle_client.post("/jobs", json=SIGNUP).json["id"] for _ in range(2)]
    canceled = idle_client.post("/jobs", json=SIGNUP).json["id"]
    idle_client.delete(f"/jobs/{canceled}")
    lost = idle_client.post("/jobs", json=SIGNUP).json["id"]
    runtime.jobs.start(lost)  # a delivery whose worker died; the next one gives up
    for job_id in [*succeeded, canceled]:
        run_job(runtime, job_id)
    run_job(Runtime.create(idle_settings.replace(max_attempts=1)), lost)
    run_job(runtime, succeeded[0])  # a redelivered finished job is not counted again

    found = samples(idle_client.get("/metrics").get_data(as_text=True))
    job = {"model": "interests", "task": "predict"}
    assert at(found, "scoring_jobs_total", **job, status="succeeded") == 2
    assert at(found, "scoring_jobs_total", **job, status="canceled") == 1
    assert at(found, "scoring_jobs_total", **job, status="failed") == 1
    assert at(found, "scoring_jobs_submitted_total", **job) == 4
    # Durations: the two jobs that ran to the end; the given-up one has no running time of its own.
    duration = {"queue": "fast", **job}
    assert at(found, "scoring_job_duration_seconds_count", **duration) == 2
    assert at(found, "scoring_job_duration_seconds_bucket", **duration, le="+Inf") == 2
    assert 0 < at(found, "scoring_job_duration_seconds_sum", **duration) < 30
    # Queue wait: observed on each job's first start (the two that ran, and the lost one).
    assert at(found, "scoring_job_queue_wait_seconds_count", queue="fast") == 3
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in found.items()
        if name == "scoring_job_queue_wait_seconds_bucket"
    )
    counts = [value for _, value in buckets]
    assert counts == sorted(counts) and counts[-1] == 3 and buckets[-1][0] == float("inf")


def test_queue_depth_age_and_workers_come_from_the_broker(idle_client: FlaskClient) -> None:
    first = idle_client.post("/jobs", json=SIGNUP).json["id"]
    time.sleep(0.3)
    idle_client.post("/jobs", json=SIGNUP)
    # A message sent with a priority lands in kombu's separate list for that priority step.
    idle_client.application.extensions["celery"].send_task(
        contract.PREDICT, kwargs={"job_id": first}, queue=contract.Q_FAST, priority=9
    )
    found = samples(idle_client.get("/metrics").get_data(as_text=True))
    assert at(found, "scoring_queue_depth", queue="fast") == 3
    assert at(found, "scoring_queue_depth", queue="heavy") == 0
    assert 0.3 <= at(found, "scoring_queue_oldest_job_age_seconds", queue="fast") < 10
    assert at(found, "scoring_queue_oldest_job_age_seconds", queue="heavy") == 0
    assert at(found, "scoring_workers_online", queue="fast") == 0


def test_the_exposition_passes_prometheus_own_checks(idle_client: FlaskClient, idle_settings: Settings) -> None:
    """What a scraper reads, linted by ``promtool check metrics``: names, units, help texts, histograms."""
    promtool = program("promtool", package="prometheus")
    runtime = Runtime.create(idle_settings)
    for job_id in [idle_client.post("/jobs", json=SIGNUP).json["id"] for _ in range(2)]:
        run_job(runtime, job_id)
    idle_client.post("/jobs", json=SIGNUP)  # one waiting, for the queue gauges
    exposition = idle_client.get("/metrics").get_data(as_text=True)
    assert "scoring_jobs_total" in exposition and "scoring_queue_depth" in exposition
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, text=True, timeout=30, check=False
    )
    assert checked.returncode == 0 and not (checked.stdout + checked.stderr).strip(), checked.stdout + checked.stderr
