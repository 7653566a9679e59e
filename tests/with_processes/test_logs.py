"""Logs: one JSON line per request and per job transition, from web, worker and gunicorn, with no customer data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import requests
from flask.testing import FlaskClient

from tests.support.processes import WebProcess, WorkerProcess, eventually

# Feature values no other part of the suite uses, so finding them in a log means this test leaked them.
WHAT_IF = {"model": "credit", "input": {"features": {"AMT_INCOME_TOTAL": 987654.321, "AMT_CREDIT": 13579.2468}}}
LEAKS = ("987654", "13579.24")


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_worker_logs_each_transition_as_json_without_the_input(
    live_client: FlaskClient, worker_process: WorkerProcess
) -> None:
    job = live_client.post("/jobs?wait=20", json=WHAT_IF).json
    assert job["status"] == "succeeded", job
    log: Path = worker_process.log_path

    def transitions() -> dict[str, dict]:
        mine = [line for line in log.read_text().splitlines() if job["id"] in line]
        events = {entry["message"]: entry for entry in map(json.loads, mine) if entry["logger"] == "worker.runner"}
        return events if "job_finished" in events else {}

    events = eventually(transitions, message="the job's finish logged")
    shared = {
        "job_id": job["id"],
        "model": "credit",
        "model_version": job["model_version"],
        "queue": "fast",
        "task": "predict",
        "attempts": 1,
    }
    assert events["job_started"].items() >= {**shared, "status": "running"}.items()
    # The wait logged is the one the record shows: created to started (both to the millisecond).
    waited_ms = (_moment(job["started_at"]) - _moment(job["created_at"])).total_seconds() * 1000
    assert abs(events["job_started"]["queue_wait_ms"] - waited_ms) <= 2
    assert events["job_finished"].items() >= {**shared, "status": "succeeded", "error_type": None}.items()
    assert events["job_finished"]["duration_ms"] > 0
    assert {"time", "level", "process"} <= events["job_finished"].keys()
    text = log.read_text()
    assert not any(leak in text for leak in LEAKS)


def test_gunicorn_and_the_app_write_nothing_but_json_lines(web_server: WebProcess) -> None:
    requests.get(f"{web_server.url}/jobs?limit=1", timeout=10)

    def logged() -> list[dict]:
        entries = json_lines(web_server.log_path.read_text())  # fails on any line that is not JSON
        return entries if any(e.get("route") == "/jobs" for e in entries) else []

    entries = eventually(logged, message="the request logged")
    assert any(e["logger"] == "gunicorn.error" and "Listening" in e["message"] for e in entries)
    assert not any(e["logger"] == "gunicorn.access" for e in entries)
