"""Metrics from several gunicorn workers: every one reports the same totals."""

from __future__ import annotations

import requests

from tests.support.data import SIGNUP
from tests.support.processes import WebProcess, WorkerProcess
from tests.support.scrape import at, samples


def test_every_gunicorn_worker_reports_the_same_totals(web_server: WebProcess, worker_process: WorkerProcess) -> None:
    for _ in range(3):
        job = requests.post(f"{web_server.url}/jobs?wait=20", json=SIGNUP, timeout=30).json()
        assert job["status"] == "succeeded", job
    # Fresh connections spread over both gunicorn workers; none counts on its own.
    totals = set()
    for _ in range(12):
        response = requests.get(f"{web_server.url}/metrics", headers={"Connection": "close"}, timeout=10)
        assert response.headers["Content-Type"].startswith("text/plain")
        found = samples(response.text)
        totals.add(at(found, "scoring_jobs_total", model="interests", task="predict", status="succeeded"))
        assert at(found, "scoring_workers_online", queue="fast") >= 1
    assert totals == {3}
